"""The demo city's registrations: the bureau's resource registered with a certificate that verifies,
the data merchant's in public notice with an enterprise's objection, the bureau's second application
waiting to be accepted — each by an applicant other than the registrar; a rerun adds nothing."""

from __future__ import annotations

from datetime import timedelta

from tests.demo.test_records import Filled, filled  # noqa: F401  (the module-scoped demo city)


def test_the_demo_registrations(filled: Filled) -> None:  # noqa: F811
    from pubdata.access.service import beijing_today
    from pubdata.assets.registry import service as registry
    from pubdata.authz import ANONYMOUS, SYSTEM
    from pubdata.demo import governance
    from pubdata.identity import service as identity

    with filled.sessions() as session:
        first = governance.apply(session, home=filled.home)
    with filled.sessions() as session:
        assert governance.apply(session, home=filled.home) == first  # idempotent
        [code] = first["registrations"]
        verified = registry.verify(session, code)
        cert = verified.certificate
        bureau = identity.get_organisation(session, SYSTEM, "qd-scjgj")
        assert (verified.status, cert.holder_name, cert.holder_uscc) == ("valid", bureau.name, bureau.uscc)
        assert cert.rights == ["holding", "processing"] and cert.entry_code == "QD-SCJGJ-XY-00002"
        # the notice replayed as over: registered the day after it ended, before today
        assert cert.notice_until is not None and cert.registered_on == cert.notice_until + timedelta(days=1)
        assert cert.registered_on < beijing_today()
        assert cert.rows > 0 and len(cert.fingerprint) == 64
        operator = identity.actor_for(identity.get_user(session, "operator"), via="cli")
        regs = {r.title: r for r in registry.list_registrations(session, operator)}
        assert {r.state for r in regs.values()} == {"registered", "public_notice", "submitted"}
        noticed = next(r for r in regs.values() if r.state == "public_notice")
        assert [o.state for o in noticed.objections] == ["open"] and noticed.rights == ["processing"]
        assert all(r.events[0].actor_user_id != operator.user_id for r in regs.values())  # never self-review
        public = {r.state for r in registry.list_registrations(session, ANONYMOUS)}
        assert public == {"registered", "public_notice"}
