"""Stored appraisal reports (数据资产评估报告): an appraisal agency's report over a registered data
asset — the inputs of the cost, income and market methods with their evidence, the results computed
by ``pubdata.assets.appraisal``, the reconciliation into one concluded value, the accounting
classification under 财会〔2023〕11号 and the signature that freezes it (docs/appraisal.md).
``service`` is its public face."""
