"""Management commands of the navigator app: `commands/seed_demo.py` loads the demo
(its language access: `demo_interpreters.py`; the equity dashboard's story, its
population, navigation and stored measures: `demo_equity.py`; its patients with
diabetes, their control cases, coaching sessions and group classes: `demo_diabetes.py`;
María's diabetes cases, one topped by each of the worklist's control reasons:
`demo_control.py`; each case's story moved back over the past year: `demo_timeline.py`)."""
