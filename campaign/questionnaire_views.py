"""The "did they reply?" link from a questionnaire email
(campaign/services/questionnaires.py). A GET only shows the question and two
buttons, because mail scanners follow links; the POST records the answer."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .services.questionnaires import questionnaire_answer, questionnaire_for_token

# The buttons' values and what each records.
_ANSWERS = {"yes": True, "no": False}


def _private(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def questionnaire_view(request, token: str):
    questionnaire = questionnaire_for_token(token=token)
    if questionnaire is None:
        return _private(
            render(request, "campaign/questionnaire_unknown.html", status=404)
        )
    status = 200
    problem = ""
    if request.method == "POST":
        answer = request.POST.get("answer", "")
        if answer in _ANSWERS:
            questionnaire = questionnaire_answer(
                questionnaire_id=questionnaire.pk, replied=_ANSWERS[answer]
            )
        else:
            status, problem = 400, "Press “Yes” or “No” to answer."
    context = {
        "questionnaire": questionnaire,
        "official": questionnaire.official,
        "campaign": questionnaire.campaign,
        "token": token,
        "problem": problem,
        "answered_now": request.method == "POST" and not problem,
    }
    return _private(
        render(request, "campaign/questionnaire.html", context, status=status)
    )
