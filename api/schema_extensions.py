"""Tells drf-spectacular how partners authenticate, so /api/schema/ documents the bearer scheme, and that
request bodies take no undocumented keys."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension


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


class InputSerializerSchema(OpenApiSerializerExtension):
    """Request bodies refuse keys they do not define (api.serializers.fields.InputSerializer): say so."""

    target_class = "api.serializers.fields.InputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
