"""One organisation, however a source names it: ingest recognises an organisation by any id it was
given (in any case) and by its normalised name, on SQLite and PostgreSQL alike."""

from sqlalchemy import func, select

from papertide.catalog.models import Organization, OrganizationAlias, Paper
from papertide.catalog.organization_keys import better_name, id_key, name_key
from papertide.catalog.organizations import find_organization, list_organizations
from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers


def record(arxiv_id: str, slug: str, name: str) -> PaperRecord:
    return PaperRecord.model_validate({"arxiv_id": arxiv_id, "title": f"Paper {arxiv_id}", "abstract": "A.",
                                       "organization": {"slug": slug, "name": name}})


def upsert(database, *records):
    with database.session() as session:
        return upsert_papers(session, list(records))


def organizations(database) -> dict[str, tuple[str, int]]:
    """slug -> (name, visible papers), as the directory lists them."""
    with database.session() as session:
        return {org.slug: (org.name, count) for org, count in list_organizations(session)}


def test_keys_ignore_case_punctuation_and_spacing_but_not_letters():
    assert name_key("Zhejiang university") == name_key("Zhejiang  University") == "name:zhejiang university"
    assert name_key("Sun Yat-sen University") == name_key("Sun Yat-Sen University")
    assert name_key("香港科技大学") == "name:香港科技大学"  # names in other scripts keep their letters
    assert name_key("—") is None  # nothing to recognise
    assert id_key("SJTU-DENG-Lab") == id_key("SJTU-Deng-Lab")
    assert better_name("university of science and technology of china", "University of Science and Technology of China") \
        == "University of Science and Technology of China"
    assert better_name("Oppo", "OPPO") == "Oppo"  # the first spelling stays unless it is all lower case


def test_one_university_under_several_ids_and_spellings_is_one_organisation(database):
    upsert(database, record("2501.00001", "zju", "Zhejiang University"),
           record("2501.00002", "ZhejiangUniversity", "Zhejiang University"))  # one batch
    upsert(database, record("2501.00003", "ZhejiangDun", "Zhejiang  university"))  # a later batch
    upsert(database, record("2501.00004", "SJTU-Deng-Lab", "Deng Lab @ SJTU"),
           record("2501.00005", "SJTU-DENG-Lab", "DENG lab, SJTU"))  # one id in two cases, two names
    upsert(database, record("2501.00006", "ustc", "university of science and technology of china"))
    upsert(database, record("2501.00007", "ustc-community", "University of Science and Technology of China"))
    upsert(database, record("2501.00008", "acme", "Acme AI"), record("2501.00009", "acme-research", "Acme Research"))

    listed = organizations(database)
    assert listed == {
        "zju": ("Zhejiang University", 3),
        "SJTU-Deng-Lab": ("Deng Lab @ SJTU", 2),
        "ustc": ("University of Science and Technology of China", 2),  # the capitalised spelling wins
        "acme": ("Acme AI", 1),
        "acme-research": ("Acme Research", 1),  # other names stay other organisations
    }
    with database.session() as session:
        for slug in ("ZhejiangUniversity", "zhejiangdun", "ZJU"):  # every id it was given, in any case
            assert find_organization(session, slug).slug == "zju"
        assert find_organization(session, "nobody") is None
        assert session.scalar(select(func.count()).select_from(Organization)) == 5


def test_re_ingesting_under_a_merged_id_changes_nothing(database):
    upsert(database, record("2501.00001", "zju", "Zhejiang University"),
           record("2501.00002", "ZhejiangUniversity", "Zhejiang University"))
    again = upsert(database, record("2501.00001", "zju", "Zhejiang University"),
                   record("2501.00002", "ZhejiangUniversity", "Zhejiang University"))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    with database.session() as session:
        keys = set(session.scalars(select(OrganizationAlias.key)))
        orgs = {paper.organization_id for paper in session.scalars(select(Paper))}
    assert keys == {"id:zju", "id:zhejianguniversity", "name:zhejiang university"} and len(orgs) == 1


def test_an_organisation_made_outside_ingest_is_found_by_its_slug(database):
    with database.session() as session:
        session.add(Organization(slug="acme", name="ACME Labs"))
    upsert(database, record("2501.00001", "acme", "ACME Labs"))
    assert organizations(database) == {"acme": ("ACME Labs", 1)}
