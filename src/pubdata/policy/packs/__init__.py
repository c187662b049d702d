"""Policy packs: the YAML format, its compiler, the two evaluation back ends (Python with explanations,
SQL for every enterprise) and table-driven test cases. The shipped packs are the YAML files here."""
