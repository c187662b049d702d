"""The data-asset domain: registration (确权登记), appraisal (评估) and data trusts (数据信托)."""
