from pubdata.errors import Conflict, Invalid, NotFound, Unauthenticated


class OrganisationNotFound(NotFound):
    code = "identity.organisation_not_found"


class UserNotFound(NotFound):
    code = "identity.user_not_found"


class TokenNotFound(NotFound):
    code = "identity.token_not_found"


class DuplicateUser(Conflict):
    code = "identity.user_exists"


class DuplicateOrganisation(Conflict):
    code = "identity.organisation_exists"


class InvalidCredentials(Unauthenticated):
    code = "identity.invalid_credentials"


class InvalidToken(Unauthenticated):
    code = "identity.invalid_token"


class InvalidIdentityInput(Invalid):
    code = "identity.invalid"
