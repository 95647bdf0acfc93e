"""A default outreach protocol for each program, and default outreach letters.

Protocol: phone on day 0, phone on day 2, a letter on day 7, a text on day 14;
after 4 unsuccessful attempts over at least 14 days the case is proposed for
closing as unreachable; after reaching the patient, follow up in 7 days.

Letters (English, Spanish, Portuguese): plain language, warm, the minimum
necessary. They invite the patient to call about their screening and give the
navigator's name and number; they never mention a diagnosis or a result.
Placeholders are filled by outreach.letters.
"""

from django.db import migrations

STEPS = [(1, 0, "phone"), (2, 2, "phone"), (3, 7, "letter"), (4, 14, "sms")]

LETTERS = {
    "en": (
        "Your {program} screening",
        """Dear {patient_name},

My name is {navigator_name}, and I am a patient navigator at {organization}. My job is to help you get the health screenings you need.

Our records show that you may be due for your {program} screening. I would like to talk with you, answer your questions, and help with anything that makes it hard to get screened, such as making the appointment, getting there, or the cost.

Please call me at {program_phone}. If you prefer, we can arrange an interpreter at no cost to you.

If you have already had this screening somewhere else, please let us know so that we can update your record.

Sincerely,

{navigator_name}
Patient navigator""",
    ),
    "es": (
        "Su prueba de detección de {program}",
        """Estimado(a) {patient_name}:

Me llamo {navigator_name} y soy navegador(a) de pacientes en {organization}. Mi trabajo es ayudarle a hacerse los exámenes de salud que necesita.

Según nuestros registros, es posible que ya le toque su prueba de detección de {program}. Me gustaría hablar con usted, responder a sus preguntas y ayudarle con lo que le dificulte hacerse la prueba, como pedir la cita, el transporte o el costo.

Por favor, llámeme al {program_phone}. Si lo prefiere, podemos conseguir un intérprete sin costo para usted.

Si ya se hizo esta prueba en otro lugar, avísenos para poder actualizar su expediente.

Atentamente,

{navigator_name}
Navegador(a) de pacientes""",
    ),
    "pt": (
        "Seu exame de rastreamento de {program}",
        """Prezado(a) {patient_name},

Meu nome é {navigator_name} e sou navegador(a) de pacientes em {organization}. Meu trabalho é ajudar você a fazer os exames de saúde de que precisa.

De acordo com nossos registros, talvez já esteja na hora do seu exame de rastreamento de {program}. Gostaria de conversar com você, responder às suas perguntas e ajudar com o que dificulta fazer o exame, como marcar a consulta, o transporte ou o custo.

Por favor, ligue para mim no número {program_phone}. Se preferir, podemos providenciar um intérprete sem custo para você.

Se você já fez este exame em outro lugar, avise-nos para podermos atualizar o seu prontuário.

Atenciosamente,

{navigator_name}
Navegador(a) de pacientes""",
    ),
}


def seed(apps, schema_editor):
    Program = apps.get_model("patients", "ScreeningProgram")
    Protocol = apps.get_model("outreach", "OutreachProtocol")
    Step = apps.get_model("outreach", "ProtocolStep")
    Template = apps.get_model("outreach", "MessageTemplate")
    for program in Program.objects.order_by("pk"):
        protocol, created = Protocol.objects.get_or_create(
            program=program,
            defaults={
                "unreachable_after_attempts": 4,
                "unreachable_after_days": 14,
                "reached_follow_up_days": 7,
            },
        )
        if created:
            Step.objects.bulk_create(
                Step(protocol=protocol, order=order, day=day, channel=channel)
                for order, day, channel in STEPS
            )
    for language, (subject, body) in LETTERS.items():
        Template.objects.get_or_create(
            kind="outreach_letter",
            language=language,
            program=None,
            defaults={"subject": subject, "body": body},
        )


def unseed(apps, schema_editor):
    apps.get_model("outreach", "OutreachProtocol").objects.all().delete()
    apps.get_model("outreach", "MessageTemplate").objects.filter(
        kind="outreach_letter", program=None, language__in=list(LETTERS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0002_workspace"),
        ("patients", "0006_workspace"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
