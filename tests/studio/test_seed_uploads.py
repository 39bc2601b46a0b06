"""Uploading seed tables and documents: the first rows are shown, bad files get a message that
says what and where, and nothing is saved from a refused file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.models import SeedFile, SeedRow

pytestmark = pytest.mark.django_db


def upload(client, project, name, content: bytes):
    return client.post(
        f"/projects/{project.pk}/seed-files/", {"file": SimpleUploadedFile(name, content)}
    )


def test_a_csv_upload_shows_its_first_rows_escaped(owner_client, project):
    csv = b"Question,Answer\nWhat is 2+2?,4\n<b>bold</b>,yes\n"
    response = upload(owner_client, project, "qa.csv", csv)
    seed = SeedFile.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/seed-files/{seed.pk}/"
    assert seed.columns == ["question", "answer"]
    assert seed.renamed == {"Question": "question", "Answer": "answer"}
    assert SeedRow.objects.filter(seed_file=seed).count() == 2
    page = owner_client.get(response["Location"]).content.decode()
    assert "What is 2+2?" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page


def test_a_document_upload_shows_its_chunks(owner_client, project):
    text = ("Photosynthesis turns light into chemical energy. " * 80).encode()
    response = upload(owner_client, project, "notes.md", text)
    seed = SeedFile.objects.get()
    assert seed.kind == SeedFile.Kind.DOCUMENT
    page = owner_client.get(response["Location"]).content.decode()
    assert "Chunk 1" in page and "Photosynthesis" in page


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("rows.jsonl", b'{"a": 1}\n{"a": 2\n', "line 2"),
        ("rows.jsonl", b'{"a": 1}\n[1, 2]\n', "line 2"),
        ("empty.csv", b"", "empty"),
        ("latin.csv", "name\ncafé\n".encode("latin-1"), "UTF-8"),
        ("data.parquet", b"PAR1 not really parquet", "Parquet"),
        ("image.png", b"\x89PNG....", "Upload a table"),
        ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("deep.jsonl", b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n", "too deeply"),
        ("deep.json", b"[" * 50_000 + b"]" * 50_000, "too deeply"),
        ("long.jsonl", b'{"n": ' + b"7" * 5000 + b"}\n", "5,000 digits"),
        ("blank.txt", b"   \n", "empty"),
    ],
)
def test_bad_files_are_refused_with_a_message_and_nothing_is_saved(
    owner_client, project, name, content, message
):
    response = upload(owner_client, project, name, content)
    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    assert name in body
    assert not SeedFile.objects.exists() and not SeedRow.objects.exists()


def test_uploads_above_the_size_limit_are_refused(owner_client, project, settings):
    settings.STUDIO_MAX_UPLOAD_BYTES = 1000
    response = upload(owner_client, project, "big.csv", b"a\n" + b"x\n" * 2000)
    assert response.status_code == 413
    assert "big.csv is larger than the limit of 1,000 bytes" in response.content.decode()
    assert not SeedFile.objects.exists()


def test_too_many_columns_are_refused(owner_client, project, settings):
    settings.STUDIO_MAX_SEED_COLUMNS = 5
    header = ",".join(f"c{i}" for i in range(12)).encode()
    response = upload(owner_client, project, "wide.csv", header + b"\n" + b"1," * 11 + b"1\n")
    assert response.status_code == 400
    assert "12" in response.content.decode()


def test_strangers_cannot_see_or_upload(stranger_client, owner_client, project):
    upload(owner_client, project, "qa.csv", b"a\n1\n")
    seed = SeedFile.objects.get()
    assert stranger_client.get(f"/seed-files/{seed.pk}/").status_code == 404
    assert stranger_client.post(f"/seed-files/{seed.pk}/delete/").status_code == 404
    assert upload(stranger_client, project, "x.csv", b"a\n1\n").status_code == 404
    assert SeedFile.objects.count() == 1


def test_nul_bytes_and_lone_surrogates_are_stored_as_text(owner_client, project):
    jsonl = b'{"a": "x\\u0000y", "b": {"k\\u0000": "\\ud800z"}}\n'
    assert upload(owner_client, project, "odd.jsonl", jsonl).status_code == 302
    assert SeedRow.objects.get().data == {"a": "xy", "b": {"k": "\ufffd\ufffd\ufffdz"}}
    document = b"line one\x00\nline two\n"
    assert upload(owner_client, project, "nul.txt", document).status_code == 302
    assert SeedFile.objects.get(name="nul.txt").text == "line one\nline two\n"
