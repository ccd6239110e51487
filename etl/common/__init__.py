"""Code and pipelines shared by every tenant (the single source of truth).

``pipelines.yaml`` lists the pipelines every tenant inherits; ``assets/`` holds the stage logic
(extract, transfer, load) that every generated asset runs.
"""
