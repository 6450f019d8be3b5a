"""The file names photos take in exports, as read from the database before an export
(``services/exports/file_names.py``), are those the rule gives when worked out photo by photo
over every name (``exports/file_names.py``), on both databases: names one but for case (in
ASCII and beyond it), names one once made path parts, names without an extension or with a
``-`` in it, names of the form of another photo's new name, and of that one's."""

from __future__ import annotations

from collections import defaultdict
from itertools import count

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.exports.same_names import NameScope
from trapline.exports.file_names import FileNames, new_name, own_name
from trapline.services.exports.file_names import file_names

#: A photo: id, deployment id (0 for none), file name.
Photo = tuple[int, int, str]

_HASHES = count(1)

#: Names a deployment holds twice or once, and pairs that are one name once made path parts
#: or but for case.
NAMES = [
    "IMG_0001.JPG", "IMG_0001.JPG", "img_0001.jpg", "IMG_0002.JPG", "a..b.jpg", "a_b.jpg",
    "Ñandú.jpg", "ñANDÚ.JPG", "straße.jpg", "STRASSE.JPG", "x.tar-gz", "X.TAR-GZ", "README",
    "readme", "a.b.c.jpg", "A.B.C.JPG", ".hidden.jpg", "_.hidden.jpg", "~home.jpg",
    "_~home.jpg", "tab\tname.jpg", "tab_name.jpg", "back\\slash.jpg", "back/slash.jpg",
    "back_slash.jpg", "20240621-220000.jpg", "20240621-220010.jpg", "Ω.jpg", "",
]  # fmt: skip


def _photo(repos: Repos, project: int, deployment: int | None, name: str) -> Photo:
    made = repos.photos.images.insert(
        project_id=project, deployment_id=deployment, storage_key=f"k{name}",
        filename=name, sha256=f"{next(_HASHES):064x}", size_bytes=1, width=1, height=1,
        content_type="image/jpeg",
    )  # fmt: skip
    assert made is not None
    return made.id, deployment or 0, name


def _by_the_rule(photos: list[Photo]) -> set[int]:
    """The photos that take new names, worked out over every name: those whose own name
    (case aside) another photo of their deployment holds, as its own or as its new name."""
    renamed: set[int] = set()
    while True:
        holders: dict[tuple[int, str], set[int]] = defaultdict(set)
        for i, d, f in photos:
            name = own_name(f, i)
            holders[d, name.casefold()].add(i)
            if i in renamed:
                holders[d, new_name(name, i).casefold()].add(i)
        more = {
            i for i, d, f in photos
            if len(holders[d, own_name(f, i).casefold()]) > 1 and i not in renamed
        }  # fmt: skip
        if not more:
            return renamed
        renamed |= more


def _scene(db: Database) -> tuple[int, int, list[Photo]]:
    """A project: deployment A holds ``NAMES``, then names of the form of new names of its
    photos (which take new names or not), then one of the form of such a photo's new name;
    B holds an IMG_0001.JPG of its own; two photos of no deployment share a name."""
    with db.write() as repos:
        owner = repos.core.users.create("names@example.org", "Owner")
        project = repos.core.projects.create("Names", "", owner.id).id
        a = repos.core.deployments.create(project, name="A").id
        b = repos.core.deployments.create(project, name="B").id
        photos = [_photo(repos, project, a, name) for name in NAMES]
        ids = {name: i for i, _, name in reversed(photos)}
        formed = [
            f"IMG_0001-{ids['IMG_0001.JPG']}.JPG", f"x-{ids['x.tar-gz']}.tar-gz",
            f"README-{ids['README']}", f"a.b.c-{ids['a.b.c.jpg']}.jpg",
            f"IMG_0002-{ids['IMG_0002.JPG']}.JPG", f"IMG_0001-{ids['IMG_0002.JPG']}.JPG",
            f"20240621-{ids['20240621-220000.jpg']}.jpg",
        ]  # fmt: skip
        photos += [_photo(repos, project, a, name) for name in formed]
        second = photos[len(NAMES)][0]
        photos.append(_photo(repos, project, a, f"IMG_0001-{ids['IMG_0001.JPG']}-{second}.JPG"))
        photos.append(_photo(repos, project, b, "IMG_0001.JPG"))
        photos += [_photo(repos, project, None, "IMG_0001.JPG") for _ in range(2)]
    return project, a, photos


def _renamed(names: FileNames, photos: list[Photo]) -> set[int]:
    return {i for i, d, f in photos if names.takes_new_name(i, d, f)}


def test_the_names_read_are_the_rules(app_db: Database) -> None:
    project, a, photos = _scene(app_db)
    with app_db.read() as repos:
        names = file_names(repos, NameScope(project))
        in_a = file_names(repos, NameScope(project, a))
    want = _by_the_rule(photos)
    assert _renamed(names, photos) == want
    of_a = [p for p in photos if p[1] == a]
    assert _renamed(in_a, of_a) == want & {i for i, _, _ in of_a}
    paths = {(d, names.of(i, d, f).casefold()) for i, d, f in photos}
    assert len(paths) == len(photos)
    # what the rule leaves alone: names no other photo of the deployment has
    kept = {f for i, _, f in of_a if i not in want}
    assert {"IMG_0002.JPG", "Ω.jpg", "20240621-220010.jpg", f"IMG_0001-{of_a[3][0]}.JPG"} <= kept


def test_names_no_other_photo_has_stay_as_they_are(app_db: Database) -> None:
    with app_db.write() as repos:
        owner = repos.core.users.create("one@example.org", "Owner")
        project = repos.core.projects.create("One", "", owner.id).id
        a = repos.core.deployments.create(project, name="A").id
        photos = [_photo(repos, project, a, f"IMG_{n:04d}.JPG") for n in range(5)]
    with app_db.read() as repos:
        names = file_names(repos, NameScope(project))
    assert (names.shared, names.renamed) == (frozenset(), frozenset())
    assert [names.of(i, d, f) for i, d, f in photos] == [f for _, _, f in photos]
