from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config import health, views
from navigator.api import tokens
from navigator.views import account

api_patterns = [
    path("auth/token/", tokens.TokenObtainView.as_view(), name="token"),
    path("auth/tokens/", tokens.TokenListView.as_view(), name="token-list"),
    path("auth/tokens/revoke-all/", tokens.TokenRevokeAllView.as_view(), name="token-revoke-all"),
    path("auth/tokens/<str:token_key>/", tokens.TokenRevokeView.as_view(), name="token-revoke"),
    # Schema and docs: sign-in required outside DEBUG (config.api.SignedInOutsideDebug).
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.api_docs, name="docs"),
    path("", include("patients.api.urls")),
    path("", include("navigator.api.urls")),
    path("", include("outreach.api.urls")),
]

urlpatterns = [
    # Answered by config.health.HealthCheckMiddleware before any other middleware.
    path("healthz", health.healthz, name="healthz"),
    path("healthz/ready", health.healthz_ready, name="healthz_ready"),
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/session/", views.session_status, name="session_status"),
    path("accounts/session/keep-alive/", views.session_keep_alive, name="session_keep_alive"),
    path("accounts/two-factor/enrol/", account.two_factor_enrol, name="two_factor_enrol"),
    path("accounts/two-factor/verify/", account.two_factor_verify, name="two_factor_verify"),
    path("accounts/api-tokens/", account.api_token_list, name="api_tokens"),
    path("admin/", admin.site.urls),
    path("audit/", include("navigator.audit.urls")),
    path("api/", include((api_patterns, "api"))),
    path("", include("navigator.urls")),
    path("", include("patients.urls")),
    path("", include("outreach.urls")),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
