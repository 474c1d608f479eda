"""Webhooks: partners register endpoints; the follower turns status changes of their requests into
deliveries; the deliverer signs and POSTs them with retries. Receivers verify per docs/webhooks.md."""
