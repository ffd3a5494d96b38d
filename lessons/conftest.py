"""The test run executes every lesson in fast mode (smaller training budgets; see
tinygrad_ft/course.py). The notebook kernels inherit this environment. To check the lessons at
full size: TINYGRAD_FT_FAST=0 python -m pytest lessons/"""

import os

os.environ.setdefault("TINYGRAD_FT_FAST", "1")
