"""The daily pipeline: one scheduler that harvests every source, embeds what is new, refreshes the
search indexes, sends digests and takes backups, each job run by one worker at a time.

Any number of ``papertide worker`` processes, on any number of machines, share the work through
the database: a job's lease (``leases``) says who runs it, its row says when it is next due
(``schedules``), and a worker that dies leaves a lease that expires, so another one takes the job
over and resumes from the checkpoint its source stored with its last batch. See docs/worker.md.
"""
