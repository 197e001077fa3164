"""The core: data model, errors, exact formulas, the analysis walk, people's figures."""
