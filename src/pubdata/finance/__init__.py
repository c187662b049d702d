"""Finance (金融专区): credit scoring from the enterprise facts (以数据变信用) — expert and fitted
scorecards, score runs over every enterprise, one enterprise's score with its reasons (this package's
``service``, ``scorecards/``, docs/credit.md); consent (``consent/``) and the bank–enterprise channel
(``loans/``) in their sub-packages (docs/finance.md)."""
