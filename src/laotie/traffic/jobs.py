"""Jobs of traffic: the go-live fan-out (a task) and the sweep that resumes it."""

from __future__ import annotations

from laotie.core.jobs import Job
from laotie.core.tasks import Task
from laotie.traffic.notify import NOTIFY_GO_LIVE, notify_go_live, resume_notifications

JOBS = (Job("traffic.resume_notifications", resume_notifications),)

# One-off work, run on taskiq (core/tasks.py).
TASKS = (Task(NOTIFY_GO_LIVE, notify_go_live),)
