"""Policy packs (政策通): policies as code with provenance, evaluation with explanations, bulk
matching, proactive notices and the application workflow."""
