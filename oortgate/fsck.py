"""``oortgate fsck``: every object's blobs checked against the metadata, and every blob
file against the rows that should know it.

- Each object, each noncurrent version (object_versions: its bytes are kept, and read
  back by a GET ?versionId=, as long as the version is) and each part of an open
  upload: its blobs exist (a file, or a row for an
  inline blob) and hold the size the metadata says (a compressed blob's logical size);
  a multipart object's parts add up to its size.
- ``deep``: the bytes are read (in bounded chunks) and their MD5s and checksums compared
  with the ETag and the stored checksums (see oortgate.fsck_digests).
- Orphans: blob files no row references, marks pending or queues as garbage, older than
  the GC grace (a younger one may be a writer's that has not committed yet). Temp files
  are never looked at: they belong to writers alive or to the next start-up sweep.
- Reference counts: each blob's count against the rows that reference it (one query,
  one snapshot: the server changes both in the same transaction).
- ``repair`` deletes orphans (checked again just before) and sets drifted counts to the
  references counted again in a write transaction, and nothing else: an object whose
  blob is missing or damaged is reported and left as it is (see the README).

Safe while the server serves: the metadata is read page by page (see
oortgate.meta.scan: one code path for every metadata store and blob store, on their
async interfaces); a problem on a row the server changed meanwhile is no problem (its
blobs are looked up again before it is reported). A damaged database stops the orphan
search, so that good blobs are never taken for orphans.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from oortgate.fsck_digests import EntryDigests
from oortgate.meta.scan import BlobRef, Entry, MetadataDamaged, MetaScan
from oortgate.storage.base import BlobDamaged, BlobNotFound, BlobStore
from oortgate.storage.tiered import TIERED_BLOB_ID

CHUNK = 1 << 20  # bytes read at once by --deep: memory stays bounded whatever the object
ORPHAN_BATCH = 1000
KINDS = ("missing", "size_mismatch", "checksum_mismatch", "orphan", "database", "refcount")


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # one of KINDS
    detail: str
    bucket: str | None = None
    key: str | None = None
    blob_id: str | None = None
    upload_id: str | None = None
    part_number: int | None = None
    repaired: bool = False
    version_id: str | None = None  # a noncurrent version's ("null": the null version)

    def as_dict(self) -> dict[str, object]:
        doc = {"kind": self.kind, "bucket": self.bucket, "key": self.key,
               "version_id": self.version_id, "blob_id": self.blob_id, "upload_id": self.upload_id,
               "part_number": self.part_number, "detail": self.detail,
               "repaired": self.repaired}  # fmt: skip
        return {name: value for name, value in doc.items() if value is not None}


@dataclass
class Report:
    objects: int = 0
    versions: int = 0  # noncurrent ones (delete markers have no bytes: not counted)
    upload_parts: int = 0
    blobs_checked: int = 0
    bytes_verified: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    repaired: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.counts[problem.kind] += 1
        self.repaired += problem.repaired
        self.problems.append(problem)

    @property
    def clean(self) -> bool:
        return not self.problems


class Progress(Protocol):
    def phase(self, name: str, total: int | None, unit: str) -> None: ...

    def advance(self, amount: int) -> None: ...


class NoProgress:
    def phase(self, name: str, total: int | None, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Options:
    deep: bool = False
    repair: bool = False
    grace: float = 900.0  # seconds: a younger unknown blob file is no orphan (yet)


class Checker:
    def __init__(
        self,
        scan: MetaScan,
        blobs: BlobStore,
        options: Options,
        progress: Progress | None = None,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        self._scan = scan
        self._blobs = blobs
        self._options = options
        self._progress = progress or NoProgress()
        self._on_problem = on_problem
        self.report = Report()

    async def run(self) -> Report:
        for message in await self._scan.integrity():
            self._add(Problem("database", f"integrity_check: {message}"))
        try:
            await self._check_entries()
        except MetadataDamaged as exc:
            self._add(Problem("database", f"the metadata cannot be read: {exc}"))
        if self.report.counts["database"]:
            self.report.notes.append("orphans not looked for: the database is damaged")
        else:
            await self._check_reference_counts()
            await self._find_orphans()
        return self.report

    async def _check_reference_counts(self) -> None:
        drifted = await self._scan.reference_drift()
        if drifted is None:
            self.report.notes.append("reference counts not checked: an older schema")
            return
        fixed = False
        if drifted and self._options.repair:  # in a write transaction, counted again
            fixed = await self._scan.repair_reference_counts([d.blob_id for d in drifted]) > 0
        for d in drifted:
            detail = f"counted {d.counted} references, {d.referenced} rows reference it"
            self._add(Problem("refcount", detail, blob_id=d.blob_id, repaired=fixed))

    def _add(self, problem: Problem) -> None:
        self.report.add(problem)
        if self._on_problem is not None:
            self._on_problem(problem)

    # -- objects and parts ----------------------------------------------------------
    async def _check_entries(self) -> None:
        count, size = await self._scan.totals()
        deep = self._options.deep
        self._progress.phase("verifying bytes" if deep else "checking objects",
                             size if deep else count, "bytes" if deep else "objects")  # fmt: skip
        async for entry in self._scan.objects():
            self.report.objects += 1
            await self._check(entry)
        async for entry in self._scan.versions():
            self.report.versions += 1
            await self._check(entry)
        async for entry in self._scan.upload_parts():
            self.report.upload_parts += 1
            await self._check(entry)

    async def _check(self, entry: Entry) -> None:
        found = [problem async for problem in self._examine(entry)]
        if not self._options.deep:
            self._progress.advance(1)
        if found and await self._scan.blob_ids_now(entry) != tuple(b.blob_id for b in entry.blobs):
            return  # the server replaced or deleted it meanwhile: nothing wrong
        for problem in found:
            self._add(problem)

    async def _examine(self, entry: Entry) -> AsyncIterator[Problem]:
        def problem(kind: str, detail: str, blob_id: str | None = None) -> Problem:
            number = entry.part_number if entry.upload_id else None
            version = None if entry.version_id is None else entry.version_id or "null"
            return Problem(kind, detail, entry.bucket, entry.key, blob_id, entry.upload_id,
                           number, version_id=version)  # fmt: skip

        if entry.row_damage:
            yield problem("database", entry.row_damage)
        total = sum(blob.size for blob in entry.blobs)
        declared = entry.declared_parts
        if declared and (len(entry.blobs) != declared or total != entry.size):
            parts = f"{len(entry.blobs)} parts of {total} bytes in all"
            says = f"the object says {declared} parts, {entry.size} bytes"
            yield problem("size_mismatch", f"{parts}; {says}")
        intact = True
        for blob in entry.blobs:
            self.report.blobs_checked += 1
            kind, detail = await self._stored(blob)
            if kind:
                intact = False
                yield problem(kind, detail, blob.blob_id)
        if self._options.deep:
            before = self.report.bytes_verified
            if intact:
                async for kind, detail, blob_id in self._verify(entry):
                    yield problem(kind, detail, blob_id)
            unread = entry.size - (self.report.bytes_verified - before)
            self._progress.advance(max(0, unread))  # the bar moves past what was not read

    async def _stored(self, blob: BlobRef) -> tuple[str, str]:
        """("", "") if the blob exists with its size, else (kind, what is wrong)."""
        blob_id, size = blob.blob_id, blob.size
        if blob.inline:
            data = await self._scan.inline_data(blob_id)
            if data is None:
                return "missing", "no inline data row"
            stored = len(data)
        else:
            if TIERED_BLOB_ID.fullmatch(blob_id) is None:
                return "missing", f"the metadata names no valid blob id: {blob_id!r}"
            try:
                stored = await self._blobs.size(blob_id)
            except (BlobNotFound, FileNotFoundError):
                return "missing", "no blob file"
            except (BlobDamaged, ValueError, struct.error, OSError) as exc:  # a cut frame table
                return "size_mismatch", f"a compressed blob that cannot be decoded ({exc})"
        if stored != size:
            return "size_mismatch", f"the blob holds {stored} bytes, the metadata says {size}"
        return "", ""

    async def _verify(self, entry: Entry) -> AsyncIterator[tuple[str, str, str | None]]:
        """(kind, detail, blob id) for each thing the bytes contradict."""
        digests = EntryDigests(entry.etag, entry.declared_parts > 0, entry.checksums)
        for blob in entry.blobs:
            digests.start_blob(blob.checksum, blob.crc64)
            try:
                async for chunk in self._bytes(blob):
                    digests.update(chunk)
                    self.report.bytes_verified += len(chunk)
                    self._progress.advance(len(chunk))
            except BlobNotFound:
                yield "missing", "no blob file", blob.blob_id
                return
            except BlobDamaged as exc:
                yield "checksum_mismatch", f"the bytes cannot be read: {exc}", blob.blob_id
                return
        if mismatches := digests.mismatches():  # one problem per object, however many
            yield "checksum_mismatch", "; ".join(mismatches), None

    async def _bytes(self, blob: BlobRef) -> AsyncIterator[bytes]:
        if blob.inline:
            data = await self._scan.inline_data(blob.blob_id)  # small: the inline limit
            if data is None:
                raise BlobNotFound(blob.blob_id)
            yield data
            return
        chunks = await self._blobs.read(blob.blob_id, 0, blob.size, CHUNK)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    # -- orphans --------------------------------------------------------------------
    async def _find_orphans(self) -> None:
        if not self._blobs.sweeps_orphans():
            self.report.notes.append("orphans not looked for: another metadata store uses "
                                     "the blob directory too")  # fmt: skip
            return
        self._progress.phase("looking for orphans", None, "files")
        batch: list[str] = []
        # Only files older than the grace: a younger one may be a writer's not committed yet.
        async for blob_id in self._blobs.orphan_candidates(self._options.grace):
            self._progress.advance(1)
            batch.append(blob_id)
            if len(batch) >= ORPHAN_BATCH:
                await self._orphans_in(batch)
                batch = []
        await self._orphans_in(batch)

    async def _orphans_in(self, blob_ids: list[str]) -> None:
        known = await self._scan.known_blobs(blob_ids)
        for blob_id in blob_ids:
            if blob_id in known or not await self._exists(blob_id):
                continue  # (gone: collected meanwhile)
            age = f"no row knows this blob file (older than {self._options.grace:g} s)"
            repaired = await self._repair(blob_id)
            self._add(Problem("orphan", age, blob_id=blob_id, repaired=repaired))

    async def _exists(self, blob_id: str) -> bool:
        try:
            await self._blobs.size(blob_id)
        except (BlobNotFound, FileNotFoundError):
            return False
        except (BlobDamaged, ValueError, struct.error, OSError):
            pass  # there, if damaged: still an orphan
        return True

    async def _repair(self, blob_id: str) -> bool:
        """Delete an orphan, if it is still one: an unknown, old blob can gain no new
        reference (a writer marks its blob pending before writing, a copy needs a row)."""
        if not self._options.repair or await self._scan.known_blobs([blob_id]):
            return False
        await self._blobs.delete(blob_id)
        return True
