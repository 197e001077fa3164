nope/none.yaml
