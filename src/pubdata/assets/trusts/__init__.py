"""Data trusts (数据信托): a settlor entrusts registered data assets to a trustee (a licensed trust
company) for beneficiaries with exact shares; distributions pay the trustee's fee and split the rest
among the beneficiaries into the ledger (docs/trusts.md). ``service`` is its public face."""
