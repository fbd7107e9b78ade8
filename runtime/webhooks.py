"""Registering a webhook, the same way through the API and the CLI: its URL's every address
checked, its principal's limit kept, its signing secret sealed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from activities.addresses import AddressPolicy, Resolver, resolved_target, system_resolver
from runtime.settings import Settings
from store.eventstore import EventStore
from store.webhook_secrets import WebhookSecrets
from store.webhooks import WebhookRecord

DEFAULT_LIMIT_PER_PRINCIPAL: Final = int(
    Settings.model_fields["webhook_limit_per_principal"].default
)


@dataclass(frozen=True)
class WebhookRegistration:
    """What a registration is checked against and sealed with."""

    secrets: WebhookSecrets = field(default_factory=WebhookSecrets.ephemeral)
    """By default under a key of this process alone (tests): set it from the settings."""
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    resolver: Resolver = system_resolver
    limit_per_principal: int = DEFAULT_LIMIT_PER_PRINCIPAL

    @classmethod
    def from_settings(
        cls, settings: Settings, resolver: Resolver = system_resolver
    ) -> WebhookRegistration:
        """As the settings say (the key file made on first use)."""
        return cls(
            secrets=WebhookSecrets.from_file(settings.webhook_secrets_key_file),
            policy=AddressPolicy(settings.webhook_allowed_networks),
            resolver=resolver,
            limit_per_principal=settings.webhook_limit_per_principal,
        )

    async def register(
        self, store: EventStore, principal: str, url: str, by: str
    ) -> tuple[WebhookRecord, str]:
        """A new webhook and its signing secret; InvalidInput naming `url` when it may not be
        called (a host that resolves to any refused address included), Refusal (webhook_limit)
        when `principal` has as many webhooks in use as it may."""
        await resolved_target(url, self.policy, self.resolver)
        return await store.webhooks.register(
            principal, url, by, self.secrets, self.limit_per_principal
        )
