"""Files `simharness init` writes: a scenario, a starter agent, a test and pytest's config."""
