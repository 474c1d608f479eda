"""/api/v1/ routes. Paths have no trailing slash; anything unknown under /api/v1/ is a problem+json 404."""
from django.urls import path, re_path

from .problems import not_found_view
from .views import entitlements, instruments, proof, requests, wallets, webhooks

urlpatterns = [
    path("instruments", instruments.InstrumentList.as_view(), name="api-instruments"),
    path("instruments/<str:symbol>", instruments.InstrumentDetail.as_view(), name="api-instrument"),
    path("token-deployments", instruments.TokenDeploymentList.as_view(), name="api-token-deployments"),
    path("wallets", wallets.WalletList.as_view(), name="api-wallets"),
    path("wallets/<int:pk>", wallets.WalletDetail.as_view(), name="api-wallet"),
    path("mint-requests", requests.MintRequestList.as_view(), name="api-mint-requests"),
    path("mint-requests/<str:pk>", requests.MintRequestDetail.as_view(), name="api-mint-request"),
    path("mint-requests/<str:pk>/cancel", requests.MintRequestCancel.as_view(), name="api-mint-request-cancel"),
    path("redeem-requests", requests.RedeemRequestList.as_view(), name="api-redeem-requests"),
    path("redeem-requests/<str:pk>", requests.RedeemRequestDetail.as_view(), name="api-redeem-request"),
    path("entitlements", entitlements.EntitlementList.as_view(), name="api-entitlements"),
    path("proof-of-reserves/<str:token_symbol>", proof.ProofOfReserves.as_view(), name="api-proof-of-reserves"),
    path("webhook-endpoints", webhooks.WebhookEndpointList.as_view(), name="api-webhook-endpoints"),
    path("webhook-endpoints/<int:pk>", webhooks.WebhookEndpointDetail.as_view(), name="api-webhook-endpoint"),
    path("webhook-endpoints/<int:pk>/deliveries", webhooks.WebhookDeliveryList.as_view(),
         name="api-webhook-deliveries"),
    re_path(r"^[\s\S]*$", not_found_view),
]
