from django.urls import path

from outreach import call_guide_views, letter_batch_views, manager_views, views

app_name = "outreach"

urlpatterns = [
    path("cases/<int:pk>/letter.pdf", views.case_letter, name="case_letter"),
    path("cases/<int:pk>/letter/mark/", views.case_letter_mark, name="case_letter_mark"),
    path(
        "cases/<int:pk>/unreachable/propose/",
        views.unreachable_propose,
        name="unreachable_propose",
    ),
    path(
        "cases/<int:pk>/unreachable/confirm/",
        views.unreachable_confirm,
        name="unreachable_confirm",
    ),
    path(
        "cases/<int:pk>/unreachable/dismiss/",
        views.unreachable_dismiss,
        name="unreachable_dismiss",
    ),
    path("programs/<slug:code>/protocol/", views.program_protocol, name="program_protocol"),
    path("programs/<slug:code>/reminders/", manager_views.program_rules, name="program_rules"),
    path(
        "programs/<slug:code>/call-guides/",
        call_guide_views.call_guide_list,
        name="call_guides",
    ),
    path(
        "programs/<slug:code>/call-guides/<int:pk>/",
        call_guide_views.call_guide_edit,
        name="call_guide_edit",
    ),
    path("messages/", manager_views.message_list, name="message_list"),
    path("language-access/", manager_views.language_access, name="language_access"),
    path("messages/<int:pk>/retry/", manager_views.message_retry, name="message_retry"),
    path("messages/<int:pk>/cancel/", manager_views.message_cancel, name="message_cancel"),
    # The mail room's daily letter batch.
    path("letters/", letter_batch_views.letter_batch_list, name="letter_batches"),
    path("letters/print/", letter_batch_views.letter_batch_print_view, name="letter_batch_print"),
    path(
        "letters/<str:day>.pdf", letter_batch_views.letter_batch_pdf_view, name="letter_batch_pdf"
    ),
]
