"""What templates show, shaped from the services' records."""

from __future__ import annotations

from dataclasses import dataclass

from trapline.domain.processing.jobs import Job, TaskCounts


@dataclass(frozen=True)
class JobRow:
    """A job with its counters, as a list shows it."""

    job: Job
    counts: TaskCounts

    @property
    def percent(self) -> int:
        """Share of tasks done, 0 to 100 (a job with no tasks yet shows 0 until it ends)."""
        if self.counts.total == 0:
            return 100 if self.job.status.is_final else 0
        return int(100 * self.counts.progress)

    @property
    def done(self) -> int:
        """Tasks in a final state."""
        return self.counts.total - self.counts.open


def job_row(job: Job, counts: TaskCounts) -> JobRow:
    """A job as lists show it."""
    return JobRow(job, counts)
