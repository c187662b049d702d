"""银企直通车: banks of the finance zone publish loan products; enterprises see those they match,
apply with a consent; banks work the pipeline; outcomes feed the fitted scorecard."""
