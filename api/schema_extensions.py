"""Tells drf-spectacular how partners authenticate, so /api/schema/ documents the bearer scheme."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "slk_<prefix>_<secret>",
            "description": "A partner API key: `Authorization: Bearer slk_<prefix>_<secret>`. Keys carry scopes "
                           "(read, mint, redeem), may expire, and can be rotated or revoked by operations.",
        }
