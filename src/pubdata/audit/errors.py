from pubdata.errors import Conflict, Invalid, NotFound


class ChainBroken(Conflict):
    """The chain does not verify, so no checkpoint is signed over it."""

    code = "audit.chain_broken"


class SigningKeyMissing(NotFound):
    code = "audit.signing_key_missing"


class InvalidSigningKey(Invalid):
    """A key that cannot be read, is not Ed25519, or sits in a file others may read."""

    code = "audit.invalid_signing_key"


class InvalidCheckpoint(Invalid):
    code = "audit.invalid_checkpoint"
