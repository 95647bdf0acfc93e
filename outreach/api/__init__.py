"""The outreach REST API and the SMS provider's webhooks.

To change:
- follow-up reminders, unreachable decisions and navigator tasks over JSON, or the
  signed webhooks for inbound texts and delivery status: `views.py`, routed in
  `urls.py` (webhooks check the provider's signature before anything else);
- their JSON shapes: `serializers.py`.
"""
