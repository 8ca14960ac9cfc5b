"""Background and periodic jobs of the notifications outbox. Each job fetches by id and calls a
service; every job is idempotent (the services use conditional updates on the state)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task
from huey.exceptions import RetryTask

from onecity.notifications.enums import MessageState
from onecity.notifications.services import message_deliver, message_requeue_stuck, retry_delay_seconds


@db_task(priority=10)
def message_deliver_task(message_id: int) -> str | None:
    """Deliver one message. After a transient failure the message is queued again and this
    task is retried by Huey with exponential back-off; the message's `attempts` caps retries."""
    message = message_deliver(message_id=message_id)
    if message is None:
        return None
    if message.state == MessageState.QUEUED and message.last_error:
        raise RetryTask(delay=retry_delay_seconds(message.attempts))
    return message.state


@db_periodic_task(crontab(minute="*"))
@lock_task("notifications-requeue-stuck")
def message_requeue_stuck_task() -> dict[str, int]:
    """Every minute: queue again the messages whose job was lost (worker crash, flushed queue)."""
    result = message_requeue_stuck()
    return {"requeued": len(result.requeued), "failed": len(result.failed)}
