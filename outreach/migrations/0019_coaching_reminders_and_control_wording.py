"""Coaching reminders and control programmes' own words (issue 16).

1. Two message kinds for the coaching triggers: a coaching session reminder and a
   group class reminder, with default texts in every language the app ships (English,
   Spanish, Portuguese), program-agnostic.
2. The diabetes control programme's own texts (they win over the defaults,
   `template_for` / `letter_template_for`): its outreach letter and its recall say
   "your HbA1c check", its class reminder "self-management class", not "screening".
   Texts by SMS or e-mail keep to the minimum necessary (0004's rule: when and where,
   never a diagnosis): they name the HbA1c check and the class, not diabetes; the
   letter, in a sealed envelope, names diabetes as the screening letters name the
   cancer screened for.
3. Reminder rules for the two coaching triggers in every control programme (1 day
   before, 10:00, SMS), which its managers see and change on the rules page like the
   others. Programmes that already have one for a trigger keep theirs.
"""

import datetime as dt

from django.db import migrations, models

DEFAULTS = {
    "coaching_reminder": {
        "en": ("Your coaching session", "Hi {first_name}, this is {organization}: a reminder of "
               "your coaching session on {appointment_date} at {appointment_time}. Questions or "
               "need to change it? Call {program_phone}. Reply STOP to opt out."),
        "es": ("Su sesión de orientación", "Hola {first_name}, le escribe {organization}: le "
               "recordamos su sesión de orientación el {appointment_date} a las "
               "{appointment_time}. ¿Preguntas o necesita cambiarla? Llame al {program_phone}. "
               "Responda STOP para no recibir más mensajes."),
        "pt": ("Sua sessão de orientação", "Olá {first_name}, aqui é {organization}: lembramos a "
               "sua sessão de orientação em {appointment_date} às {appointment_time}. Dúvidas ou "
               "precisa remarcar? Ligue para {program_phone}. Responda STOP para não receber mais "
               "mensagens."),
    },
    "group_class_reminder": {
        "en": ("Your class", "Hi {first_name}, this is {organization}: a reminder of your class "
               "on {appointment_date} at {appointment_time}. Questions or cannot come? Call "
               "{program_phone}. Reply STOP to opt out."),
        "es": ("Su clase", "Hola {first_name}, le escribe {organization}: le recordamos su clase "
               "el {appointment_date} a las {appointment_time}. ¿Preguntas o no puede venir? "
               "Llame al {program_phone}. Responda STOP para no recibir más mensajes."),
        "pt": ("Sua aula", "Olá {first_name}, aqui é {organization}: lembramos a sua aula em "
               "{appointment_date} às {appointment_time}. Dúvidas ou não pode vir? Ligue para "
               "{program_phone}. Responda STOP para não receber mais mensagens."),
    },
}  # fmt: skip

DIABETES_LETTER_EN = """Dear {patient_name},

My name is {navigator_name}, and I am a patient navigator at {organization}. My job is to help people with diabetes keep it under control.

Our records show that you may be due for your HbA1c check, the blood test that shows your average blood sugar over the last three months. I would like to talk with you, answer your questions, and help with anything that makes it hard to get the test, such as making the appointment, getting there, or the cost. I can also tell you about our diabetes self-management classes and one-to-one coaching, at no cost to you.

Please call me at {program_phone}. If you prefer, we can arrange an interpreter at no cost to you.

If you have already had this test somewhere else, please let us know so that we can update your record.

Sincerely,

{navigator_name}
Patient navigator"""

DIABETES_LETTER_ES = """Estimado(a) {patient_name}:

Me llamo {navigator_name} y soy navegador(a) de pacientes en {organization}. Mi trabajo es ayudar a las personas con diabetes a mantenerla bajo control.

Según nuestros registros, es posible que ya le toque su prueba de HbA1c, el análisis de sangre que muestra su nivel promedio de azúcar en los últimos tres meses. Me gustaría hablar con usted, responder a sus preguntas y ayudarle con lo que le dificulte hacerse la prueba, como pedir la cita, el transporte o el costo. También puedo contarle sobre nuestras clases de autocontrol de la diabetes y las sesiones de orientación individuales, sin costo para usted.

Por favor, llámeme al {program_phone}. Si lo prefiere, podemos conseguir un intérprete sin costo para usted.

Si ya se hizo esta prueba en otro lugar, avísenos para poder actualizar su expediente.

Atentamente,

{navigator_name}
Navegador(a) de pacientes"""

DIABETES_LETTER_PT = """Prezado(a) {patient_name},

Meu nome é {navigator_name} e sou navegador(a) de pacientes em {organization}. Meu trabalho é ajudar pessoas com diabetes a mantê-lo sob controle.

De acordo com nossos registros, talvez já esteja na hora do seu exame de HbA1c, o exame de sangue que mostra a média do seu açúcar no sangue nos últimos três meses. Gostaria de conversar com você, responder às suas perguntas e ajudar com o que dificulta fazer o exame, como marcar a consulta, o transporte ou o custo. Também posso falar sobre as nossas aulas de autocuidado do diabetes e as sessões individuais de orientação, sem custo para você.

Por favor, ligue para mim no número {program_phone}. Se preferir, podemos providenciar um intérprete sem custo para você.

Se você já fez este exame em outro lugar, avise-nos para podermos atualizar o seu prontuário.

Atenciosamente,

{navigator_name}
Navegador(a) de pacientes"""

DIABETES = {
    "outreach_letter": {
        "en": ("Your HbA1c check and diabetes support", DIABETES_LETTER_EN),
        "es": ("Su prueba de HbA1c y apoyo para la diabetes", DIABETES_LETTER_ES),
        "pt": ("Seu exame de HbA1c e apoio para o diabetes", DIABETES_LETTER_PT),
    },
    "recall": {
        "en": ("Time for your HbA1c check", "Hi {first_name}, this is {organization}. It is "
               "time for your HbA1c check, a blood test. Call {program_phone} and we will help "
               "you book it. Reply STOP to opt out."),
        "es": ("Es hora de su prueba de HbA1c", "Hola {first_name}, le escribe {organization}. "
               "Ya es hora de su prueba de HbA1c, un análisis de sangre. Llame al "
               "{program_phone} y le ayudamos a hacer la cita. Responda STOP para no recibir "
               "más mensajes."),
        "pt": ("Hora do seu exame de HbA1c", "Olá {first_name}, aqui é {organization}. Está na "
               "hora do seu exame de HbA1c, um exame de sangue. Ligue para {program_phone} e "
               "ajudamos a marcar. Responda STOP para não receber mais mensagens."),
    },
    "group_class_reminder": {
        "en": ("Your self-management class", "Hi {first_name}, this is {organization}: a "
               "reminder of your self-management class on {appointment_date} at "
               "{appointment_time}. Questions or cannot come? Call {program_phone}. Reply STOP "
               "to opt out."),
        "es": ("Su clase de autocontrol", "Hola {first_name}, le escribe {organization}: le "
               "recordamos su clase de autocontrol el {appointment_date} a las "
               "{appointment_time}. ¿Preguntas o no puede venir? Llame al {program_phone}. "
               "Responda STOP para no recibir más mensajes."),
        "pt": ("Sua aula de autocuidado", "Olá {first_name}, aqui é {organization}: lembramos a "
               "sua aula de autocuidado em {appointment_date} às {appointment_time}. Dúvidas ou "
               "não pode vir? Ligue para {program_phone}. Responda STOP para não receber mais "
               "mensagens."),
    },
}  # fmt: skip

# trigger, kind, days before, local time, priority
COACHING_RULES = [
    ("before_coaching", "coaching_reminder", 1, dt.time(10, 0), 6),
    ("before_group", "group_class_reminder", 1, dt.time(10, 0), 6),
]


def seed(apps, schema_editor):
    Program = apps.get_model("patients", "ScreeningProgram")
    Template = apps.get_model("outreach", "MessageTemplate")
    Rule = apps.get_model("outreach", "ReminderRule")
    for kind, texts in DEFAULTS.items():
        for language, (subject, body) in texts.items():
            Template.objects.get_or_create(
                kind=kind, language=language, program=None,
                defaults={"subject": subject, "body": body},
            )  # fmt: skip
    for program in Program.objects.filter(code="diabetes"):
        for kind, texts in DIABETES.items():
            for language, (subject, body) in texts.items():
                Template.objects.get_or_create(
                    kind=kind, language=language, program=program,
                    defaults={"subject": subject, "body": body},
                )  # fmt: skip
    for program in Program.objects.filter(kind="control"):
        for trigger, kind, days, at, priority in COACHING_RULES:
            if not Rule.objects.filter(program=program, trigger=trigger).exists():
                Rule.objects.create(
                    program=program, trigger=trigger, kind=kind, days=days, at_time=at,
                    channel="sms", priority=priority,
                )  # fmt: skip


def unseed(apps, schema_editor):
    Template = apps.get_model("outreach", "MessageTemplate")
    Rule = apps.get_model("outreach", "ReminderRule")
    Rule.objects.filter(kind__in=["coaching_reminder", "group_class_reminder"]).delete()
    Template.objects.filter(kind__in=["coaching_reminder", "group_class_reminder"]).delete()
    Template.objects.filter(
        program__code="diabetes", kind__in=["outreach_letter", "recall"]
    ).delete()




class Migration(migrations.Migration):

    dependencies = [
        ('outreach', '0018_default_protocol_for_diabetes_control'),
        ('patients', '0031_seed_diabetes_control'),
    ]

    operations = [
        migrations.AlterField(
            model_name='messagetemplate',
            name='kind',
            field=models.CharField(choices=[('outreach_letter', 'Outreach letter'), ('appointment_reminder', 'Appointment reminder'), ('prep_instructions', 'Preparation instructions'), ('kit_return', 'Mailed kit return reminder'), ('recall', 'Test due again (recall)'), ('opt_out_confirmation', 'Opt-out confirmation'), ('help_reply', 'Reply to HELP'), ('coaching_reminder', 'Coaching session reminder'), ('group_class_reminder', 'Group class reminder')], max_length=32),
        ),
        migrations.AlterField(
            model_name='patientmessage',
            name='kind',
            field=models.CharField(choices=[('outreach_letter', 'Outreach letter'), ('appointment_reminder', 'Appointment reminder'), ('prep_instructions', 'Preparation instructions'), ('kit_return', 'Mailed kit return reminder'), ('recall', 'Test due again (recall)'), ('opt_out_confirmation', 'Opt-out confirmation'), ('help_reply', 'Reply to HELP'), ('coaching_reminder', 'Coaching session reminder'), ('group_class_reminder', 'Group class reminder')], max_length=32),
        ),
        migrations.AlterField(
            model_name='reminderrule',
            name='kind',
            field=models.CharField(choices=[('outreach_letter', 'Outreach letter'), ('appointment_reminder', 'Appointment reminder'), ('prep_instructions', 'Preparation instructions'), ('kit_return', 'Mailed kit return reminder'), ('recall', 'Test due again (recall)'), ('opt_out_confirmation', 'Opt-out confirmation'), ('help_reply', 'Reply to HELP'), ('coaching_reminder', 'Coaching session reminder'), ('group_class_reminder', 'Group class reminder')], max_length=32),
        ),
        migrations.RunPython(seed, unseed),
    ]
