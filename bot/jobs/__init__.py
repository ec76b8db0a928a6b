"""Scheduled work: the scheduler, SLA timers, digests, broadcasts, and the working-day calendar."""
