"""The diabetes control programme's call guides in Portuguese (issue 16), beside 0020's
English and Spanish: the app's patient texts and letter ship in Portuguese too (0019),
and a Portuguese-speaking patient's navigator was shown the English guide. The same
three calls, the same content, from the same sources (0020's SOURCE): the HbA1c check
and the self-management classes and coaching, never a screening. Staff read a guide
aloud, so it may name diabetes (as the sealed letter does; texts never do)."""

from django.db import migrations

# The same sources as 0020's guides (imported there as data: a migration keeps its own).
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
    "first_call": dict(
        title="Primeira ligação: exame de HbA1c e apoio para o diabetes",
        talking_points="""- Diga seu nome, que trabalha com a clínica do paciente e que está ligando sobre o cuidado do diabetes dele.
- Confirme que está falando com o paciente antes de dizer qualquer coisa sobre a saúde dele.
- A HbA1c (A1c) é um exame de sangue que mostra a média do açúcar no sangue nos últimos três meses. É feito pelo menos duas vezes por ano, e com mais frequência quando os números estão altos ou os remédios mudam.
- Nossos registros não mostram uma A1c este ano, ou a última estava acima da meta que a equipe de saúde definiu. Pergunte se fez o exame em outro lugar; se sim, onde e quando.
- Não é preciso jejum para a A1c. Ofereça marcar a coleta no laboratório juntos.
- Ofereça educação para o autocuidado do diabetes: aulas em grupo pequeno no idioma dele e sessões individuais de orientação, sobre alimentação, atividade física, medir o açúcar, tomar os remédios, resolver problemas, lidar com o estresse e reduzir riscos.
- Pergunte o que prefere: uma série de aulas, uma sessão individual ou as duas. Faça a inscrição ou marque na própria ligação.
- Açúcar muito alto ou muito baixo com confusão, desmaio ou falta de ar é uma emergência: ligue para o 911. Tremores, suor ou sede que não passa: ligue hoje para o médico.""",
        barriers_and_answers="""- "Eu me sinto bem." O açúcar alto muitas vezes não dá sinais por anos enquanto prejudica os olhos, os rins, os nervos e o coração. A A1c mostra o que não se sente.
- Custo: o Medicare, o Medicaid e a maioria dos planos pagam a A1c e a educação sobre o diabetes (Medicare: até 10 horas no primeiro ano, depois 2 horas por ano). Podemos verificar o plano juntos.
- Falta de tempo ou de transporte: a A1c é uma só coleta de sangue, sem jejum. As aulas também são por vídeo. Ajudamos a encontrar transporte.
- "Eu já sei sobre o diabetes." As aulas também tratam do que é difícil no dia a dia, com pessoas que vivem o mesmo; é o paciente quem escolhe as metas.
- Idioma: aulas e sessões de orientação no idioma dele, ou com intérprete sem custo.
- Preocupação com o resultado: o número ajuda o médico a ajustar o plano; não é uma nota.""",
        prep_instructions="",
    ),
    "prep_call": dict(
        title="Ligação de preparação: a coleta no laboratório para a HbA1c",
        talking_points="""- Confirme o dia, a hora e o local da coleta, e como o paciente vai chegar.
- Não é preciso jejum para a A1c: pode comer e tomar os remédios como sempre, a não ser que o médico tenha pedido outros exames que exigem jejum. Confira o pedido.
- Leve o cartão do plano de saúde e a lista dos remédios.
- Pergunte se precisa de intérprete e, se sim, providencie.
- Diga quando e como o resultado vai chegar, e que você vai ligar para combinar os próximos passos, como as aulas ou as sessões de orientação.""",
        barriers_and_answers="""- Não pode nesse dia: remarque agora em vez de faltar.
- Sem transporte: ajude a encontrar um, ou um laboratório mais perto de casa.
- Medo de agulha: é uma só coleta pequena; pode avisar a equipe e fazer deitado.""",
        prep_instructions="""- Não é preciso jejum para a A1c; só se o pedido do médico incluir um exame que exige (por exemplo glicose em jejum ou colesterol).
- Tome os remédios como sempre, a não ser que digam o contrário.
- Leve o cartão do plano de saúde e a lista dos remédios.""",
    ),
    "reminder_call": dict(
        title="Ligação de lembrete: a próxima A1c, aulas e orientação",
        talking_points="""- Pergunte como vão as metas que o paciente definiu e o que atrapalhou.
- Lembre da próxima A1c: quando deve ser feita, e marque se ainda não estiver marcada.
- Lembre da próxima aula ou sessão de orientação; se faltou a uma, ofereça a reposição ou outra série no idioma dele.
- Pergunte se algo mudou: remédios novos, uma internação, uma mudança de endereço, um telefone novo.
- Anote o que ele disse e quando ligar de novo.""",
        barriers_and_answers="""- Faltou às aulas: pode repor uma sessão em outra série do mesmo curso.
- Perdeu o interesse: pergunte o que ajudaria; talvez as sessões individuais de orientação sirvam melhor que o grupo.
- Mudou de ideia sobre a A1c: pergunte por quê, responda o que puder e respeite a decisão. Anote no caso.
- Fez a A1c em outro lugar: pergunte onde e quando, e registre para que o prontuário fique em dia.""",
        prep_instructions="",
    ),
}


def seed(apps, schema_editor):
    Program = apps.get_model("patients", "ScreeningProgram")
    CallGuide = apps.get_model("outreach", "CallGuide")
    CallGuideVersion = apps.get_model("outreach", "CallGuideVersion")
    for program in Program.objects.filter(code="diabetes"):
        for step, text in GUIDES.items():
            # A manager may have written one already: theirs stays.
            guide, created = CallGuide.objects.get_or_create(
                program=program,
                step=step,
                language="pt",
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
    guides = CallGuide.objects.filter(
        program__code="diabetes", language="pt", version=1, updated_by=None
    )
    apps.get_model("outreach", "CallGuideVersion").objects.filter(guide__in=guides).delete()
    guides.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0020_diabetes_call_guides"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
