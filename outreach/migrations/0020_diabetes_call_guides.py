"""Call guides for the diabetes control programme (issue 16), in English and Spanish
(the languages the screening guides ship in): the first call, the prep call before a
lab visit, and the reminder call. A control programme's patient is not invited to a
screening: they are asked to an HbA1c check and offered self-management education
and coaching. Written from the sources cited, as 0012's guides."""

from django.db import migrations

SOURCE = (
    "American Diabetes Association, Standards of Care in Diabetes-2025, Diabetes Care "
    "2025;48(Suppl 1): section 6, Glycemic Goals and Hypoglycemia (A1C at least twice a "
    "year in patients meeting their goals, quarterly when therapy changed or goals are not "
    "met; no fasting needed for A1C) and section 5, Facilitating Positive Health Behaviors "
    "(DSMES at diagnosis, yearly, when complications or life changes arise). CMS122v13, "
    "Diabetes: Glycemic Status Assessment Greater Than 9% (no test in the year counts as "
    "poor control). 42 CFR 410.141 (Medicare DSMT: up to 10 hours the first year, 1 "
    "individual and 9 in groups of 2 to 20, then 2 hours a year, on a referral from the "
    "clinician treating the diabetes). ADCES7 Self-Care Behaviors, Sci Diabetes Self Manag "
    "Care 2021;47(1):30-53."
)

GUIDES = {
    ("first_call", "en"): dict(
        title="First call: HbA1c check and diabetes support",
        talking_points="""- Say your name, that you work with the patient's clinic, and that you are calling about their diabetes care.
- Make sure you are talking with the patient before you say anything about their health.
- The HbA1c (A1c) is a blood test that shows their average blood sugar over the last three months. It is done at least twice a year, more often when the numbers are high or the medicines change.
- Our records show no A1c this year, or a last one above the goal their care team set. Ask whether they had one somewhere else; if so, ask where and when.
- No fasting is needed for an A1c. Offer to book the lab visit together.
- Offer diabetes self-management education: classes in a small group in their language, and one-to-one coaching, on eating, being active, checking their sugar, taking medicines, solving problems, coping, and reducing risks.
- Ask which they would like: a class series, a coaching session, or both. Enrol or book it on the call.
- Very high or very low sugar with confusion, fainting, or trouble breathing is an emergency: call 911. Shakiness, sweating, or thirst that does not go away: call their doctor today.""",
        barriers_and_answers="""- "I feel fine." High blood sugar often has no signs for years while it harms the eyes, kidneys, nerves, and heart. The A1c shows what feeling cannot.
- Cost: Medicare, Medicaid and most plans pay for the A1c and for diabetes education (Medicare: up to 10 hours the first year, then 2 hours a year). We can check their plan with them.
- No time or no ride: the A1c is one blood draw, no fasting. Classes are also by video. We can help find a ride.
- "I already know about diabetes." Classes are also about what is hard day to day, with people living the same thing; they choose the goals.
- Language: classes and coaching in their language, or with an interpreter at no cost.
- Worry about the result: the number helps their doctor adjust the plan; it is not a grade.""",
        prep_instructions="",
    ),
    ("first_call", "es"): dict(
        title="Primera llamada: prueba de HbA1c y apoyo para la diabetes",
        talking_points="""- Diga su nombre, que trabaja con la clínica del paciente y que llama por el cuidado de su diabetes.
- Asegúrese de que habla con el paciente antes de decir nada sobre su salud.
- La HbA1c (A1c) es un análisis de sangre que muestra su nivel promedio de azúcar de los últimos tres meses. Se hace al menos dos veces al año, y más seguido si los números están altos o cambian las medicinas.
- Según nuestros registros, no tiene una A1c este año, o la última estaba por encima de la meta que fijó su equipo médico. Pregúntele si se la hizo en otro lugar; si es así, dónde y cuándo.
- Para la A1c no hace falta estar en ayunas. Ofrézcale hacer la cita del laboratorio juntos.
- Ofrézcale educación para el autocontrol de la diabetes: clases en grupo pequeño en su idioma y sesiones individuales de orientación, sobre alimentación, actividad física, medirse el azúcar, tomar las medicinas, resolver problemas, sobrellevar el estrés y reducir riesgos.
- Pregúntele qué prefiere: una serie de clases, una sesión individual o las dos. Inscríbalo o haga la cita en la llamada.
- Azúcar muy alta o muy baja con confusión, desmayo o falta de aire es una emergencia: llame al 911. Temblores, sudor o sed que no se quita: que llame hoy a su médico.""",
        barriers_and_answers="""- "Me siento bien." El azúcar alta muchas veces no da síntomas por años mientras daña los ojos, los riñones, los nervios y el corazón. La A1c muestra lo que uno no siente.
- Costo: Medicare, Medicaid y la mayoría de los seguros pagan la A1c y la educación sobre la diabetes (Medicare: hasta 10 horas el primer año y luego 2 horas al año). Podemos revisar su plan juntos.
- Falta de tiempo o de transporte: la A1c es una sola extracción de sangre, sin ayunas. Las clases también son por video. Le ayudamos a buscar transporte.
- "Ya sé de la diabetes." Las clases también tratan de lo difícil del día a día, con personas que viven lo mismo; usted escoge sus metas.
- Idioma: clases y sesiones en su idioma, o con intérprete sin costo.
- Le preocupa el resultado: el número ayuda a su médico a ajustar el plan; no es una calificación.""",
        prep_instructions="",
    ),
    ("prep_call", "en"): dict(
        title="Prep call: the lab visit for an HbA1c",
        talking_points="""- Confirm the day, time, and place of the lab visit, and how they will get there.
- No fasting is needed for an A1c: they can eat and take their medicines as usual, unless their doctor ordered other tests that need fasting. Check the order.
- Bring their insurance card and a list of their medicines.
- Ask whether they need an interpreter, and arrange one if so.
- Tell them when and how the result will reach them, and that you will call to go over the next steps, including classes or coaching.""",
        barriers_and_answers="""- Cannot make the day: move it now rather than miss it.
- No ride: help find one, or a lab closer to home.
- Afraid of needles: it is one small blood draw; they can tell the staff and lie down.""",
        prep_instructions="""- No fasting for the A1c itself; fast only if the doctor's order includes a test that needs it (for example a fasting glucose or lipids).
- Take medicines as usual unless told otherwise.
- Bring the insurance card and the list of medicines.""",
    ),
    ("prep_call", "es"): dict(
        title="Llamada de preparación: la visita al laboratorio para la HbA1c",
        talking_points="""- Confirme el día, la hora y el lugar de la visita al laboratorio, y cómo va a llegar.
- Para la A1c no hace falta ayunar: puede comer y tomar sus medicinas como siempre, salvo que su médico haya pedido otros análisis que sí lo requieren. Revise la orden.
- Que lleve su tarjeta del seguro y la lista de sus medicinas.
- Pregúntele si necesita intérprete y, si es así, consígalo.
- Dígale cuándo y cómo le llegará el resultado, y que usted le llamará para ver los próximos pasos, como las clases o las sesiones de orientación.""",
        barriers_and_answers="""- No puede ese día: cambie la cita ahora en vez de que falte.
- No tiene transporte: ayúdele a conseguirlo, o un laboratorio más cerca de su casa.
- Le dan miedo las agujas: es una sola extracción pequeña; puede decírselo al personal y acostarse.""",
        prep_instructions="""- No hace falta ayunar para la A1c; solo si la orden incluye un análisis que lo pide (por ejemplo glucosa en ayunas o colesterol).
- Tome sus medicinas como siempre, salvo otra indicación.
- Lleve la tarjeta del seguro y la lista de medicinas.""",
    ),
    ("reminder_call", "en"): dict(
        title="Reminder call: the next A1c, classes and coaching",
        talking_points="""- Ask how they are doing with the goals they set, and what got in the way.
- Remind them of the next A1c: when it is due, and book it if it is not booked.
- Remind them of their next class or coaching session; if they missed one, offer the make-up session or another series in their language.
- Ask whether anything changed: new medicines, a hospital stay, a move, a new phone number.
- Record what they said and when to call next.""",
        barriers_and_answers="""- Missed classes: they can make up a session in another series of the same course.
- Lost interest: ask what would help; one-to-one coaching may suit them better than a group.
- Changed their mind about the A1c: ask why, answer what you can, and respect their choice. Note it in the case.
- Had the A1c elsewhere: ask where and when, and record it so their record is up to date.""",
        prep_instructions="",
    ),
    ("reminder_call", "es"): dict(
        title="Llamada de recordatorio: la próxima A1c, clases y orientación",
        talking_points="""- Pregúntele cómo le va con las metas que se puso y qué se lo ha hecho difícil.
- Recuérdele la próxima A1c: cuándo le toca, y haga la cita si no la tiene.
- Recuérdele su próxima clase o sesión de orientación; si faltó a una, ofrézcale recuperarla o otra serie en su idioma.
- Pregúntele si algo cambió: medicinas nuevas, una hospitalización, una mudanza, un teléfono nuevo.
- Anote lo que le dijo y cuándo volver a llamar.""",
        barriers_and_answers="""- Faltó a clases: puede recuperar una sesión en otra serie del mismo curso.
- Perdió el interés: pregúntele qué le ayudaría; quizás le vaya mejor una sesión individual que el grupo.
- Cambió de opinión sobre la A1c: pregunte por qué, responda lo que pueda y respete su decisión. Anótelo en el caso.
- Se hizo la A1c en otro lugar: pregunte dónde y cuándo, y regístrelo para actualizar su expediente.""",
        prep_instructions="",
    ),
}


def seed(apps, schema_editor):
    Program = apps.get_model("patients", "ScreeningProgram")
    CallGuide = apps.get_model("outreach", "CallGuide")
    CallGuideVersion = apps.get_model("outreach", "CallGuideVersion")
    for program in Program.objects.filter(code="diabetes"):
        for (step, language), text in GUIDES.items():
            guide, created = CallGuide.objects.get_or_create(
                program=program,
                step=step,
                language=language,
                defaults={**text, "source": SOURCE, "active": True, "version": 1},
            )
            if created:
                CallGuideVersion.objects.create(
                    guide=guide,
                    number=1,
                    changed_by=None,
                    summary="First version, written from the sources cited.",
                    before={},
                    after={
                        "title": guide.title,
                        "talking_points": guide.talking_points,
                        "barriers_and_answers": guide.barriers_and_answers,
                        "prep_instructions": guide.prep_instructions,
                        "source": guide.source,
                        "active": guide.active,
                    },
                )


def unseed(apps, schema_editor):
    CallGuide = apps.get_model("outreach", "CallGuide")
    guides = CallGuide.objects.filter(program__code="diabetes", version=1, updated_by=None)
    apps.get_model("outreach", "CallGuideVersion").objects.filter(guide__in=guides).delete()
    guides.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0019_coaching_reminders_and_control_wording"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
