"""Personalised messages: campaigns, life-event triggers, the rules that decide whether a message may be sent
(consent, frequency cap, quiet hours), delivery to the portal inbox and email, and A/B uplift against a holdout."""
