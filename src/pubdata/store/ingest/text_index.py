"""The text index of a version: what lets ``q`` answer without reading every text value of a large
table.

``q`` means "each word appears, case-insensitively, as a substring of some text column" (docs/store.md).
A table's text columns repeat their values (hospitals, diagnoses, districts; even names and ID numbers
repeat across visits), so the index is a dictionary per column:

- ``text_terms.parquet``: ``(col, vid, value, n)`` — each distinct ``lower(value)`` of each text column,
  its dense id within the column and how many rows hold it; sorted by column and value;
- ``text_codes.parquet``: one ``INTEGER`` column per text column, named as the field, holding each row's
  value id (NULL for NULL), in file order: row ``r`` of the codes is row ``r`` of ``data.parquet``. Its
  key-value metadata ``ASCII_KEY`` lists (JSON) the columns whose values are all ASCII: a word with a
  Chinese character cannot be in them, so the lookup skips their dictionaries (an ID-number column is
  most of a dictionary's values);
- ``text_rows.arrow``: the rows themselves again, as an Arrow IPC file of zstd-compressed batches of
  ``ROWS_BATCH`` rows (batch ``r // ROWS_BATCH`` holds row ``r``). A rare word's matches lie in many
  row groups, and a Parquet reader decodes a whole group (122,880 rows) to return one of its rows:
  100 scattered matches cost about a second. A batch of this file is found through the file's footer
  without a search and decodes in well under a millisecond, so a page of scattered matches is read in
  tens of milliseconds. It costs about twice the data file's size on disk.

A word is looked up by ``contains`` over the distinct values only (thousands to a few million, not
the table's rows), then the rows are found by scanning small integers (``store/query/text_search.py``).
The answer is exactly the scan's — the same ``lower`` and ``contains`` over the same values — in
Chinese as in any other script, with no tokenizer to disagree with the substring semantics (jieba
would cut 崂山区 as one word and 崂山 would no longer find it).

Built at ingest from the staged ``data.parquet`` (the very values readers see), into the staging
directory, so it is published in the same rename as the data; only for versions of at least
``PUBDATA_TEXT_INDEX_MIN_ROWS`` rows (a scan of a smaller table is already fast). A version without
the files (older, smaller, or no text column) is searched by the scan.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from pubdata.store import files, table_schema
from pubdata.store.ingest.semantic import quote_identifier, sql_literal

TEXT_TYPES = ("string", "any")
# the codes file: row groups as the data file's, small integers (dictionary and bit-packing keep it
# a fraction of the data). LZ4 rather than zstd, for it and the dictionary: a query reads them whole
# (a count scans every row's codes, a word every value of a column), and at 17.9M rows LZ4 made the
# count of a three-word q 1.6x and a word's lookup 1.8x as fast, for files 30% (codes) and 55%
# (dictionary) larger.
_OPTIONS = "FORMAT parquet, COMPRESSION lz4, ROW_GROUP_SIZE 122880"
# rows per batch of the rows file, one decoded per row fetched: at 17.9M rows, 512 decodes a scattered row
# about twice as fast as 1,024 for a file 5% larger (256: 15% larger, barely faster again)
ROWS_BATCH = 512
ROWS_BATCH_KEY = b"pubdata.rows_batch"  # the rows file's schema metadata: its batch size, for its readers
ASCII_KEY = b"pubdata.ascii_columns"  # the codes file's metadata: the columns holding only ASCII text


def text_fields(schema: table_schema.TableSchema) -> list[str]:
    """The columns the index covers: every text field of the table."""
    return [f.name for f in schema.fields if f.type in TEXT_TYPES]


def build(
    con: duckdb.DuckDBPyConnection, schema: table_schema.TableSchema, version_dir: Path, *, use_threads: bool = True
) -> bool:
    """Write the index of ``version_dir``'s ``data.parquet`` next to it (a staging directory: the
    files become visible with the data). Returns whether an index was written (not when the table
    has no text column). ``use_threads``: as ``write_rows_file``."""
    names = text_fields(schema)
    if not names:
        return False
    data = sql_literal(str(version_dir / files.DATA_FILE))
    terms = version_dir / files.TEXT_TERMS_FILE
    codes = version_dir / files.TEXT_CODES_FILE
    dictionaries = []
    for i, name in enumerate(names):
        col = quote_identifier(name)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _terms_{i} AS SELECT {sql_literal(name)} AS col, "
            f"CAST(row_number() OVER (ORDER BY value) - 1 AS INTEGER) AS vid, value, n FROM "
            f"(SELECT lower({col}) AS value, count(*) AS n FROM read_parquet({data}) "
            f"WHERE {col} IS NOT NULL GROUP BY 1)"
        )
        dictionaries.append(f"SELECT * FROM _terms_{i}")
    ascii_only = [name for i, name in enumerate(names) if _all_ascii(con, f"_terms_{i}")]
    con.execute(
        f"COPY (SELECT * FROM ({' UNION ALL '.join(dictionaries)}) ORDER BY col, value) "
        f"TO {sql_literal(str(terms))} ({_OPTIONS})"
    )
    joins = " ".join(
        f"LEFT JOIN _terms_{i} ON _terms_{i}.value = lower(s.{quote_identifier(n)})" for i, n in enumerate(names)
    )
    codes_of = ", ".join(f"_terms_{i}.vid AS {quote_identifier(n)}" for i, n in enumerate(names))
    con.execute(
        f"COPY (SELECT {codes_of} FROM read_parquet({data}, file_row_number = true) AS s {joins} "
        f"ORDER BY s.file_row_number) TO {sql_literal(str(codes))} "
        f"({_OPTIONS}, KV_METADATA {{{sql_literal(ASCII_KEY.decode())}: {sql_literal(json.dumps(ascii_only))}}})"
    )
    for i in range(len(names)):
        con.execute(f"DROP TABLE _terms_{i}")
    write_rows_file(version_dir / files.DATA_FILE, version_dir / files.TEXT_ROWS_FILE, use_threads=use_threads)
    return True


def _all_ascii(con: duckdb.DuckDBPyConnection, dictionary: str) -> bool:
    """Whether every value of a dictionary is ASCII (its bytes as many as its characters)."""
    row = con.execute(f"SELECT coalesce(bool_and(strlen(value) = length(value)), true) FROM {dictionary}").fetchone()
    return bool(row and row[0])


def write_rows_file(data: Path, target: Path, *, use_threads: bool = True) -> None:
    """The data file's rows, in file order, as batches of exactly ``ROWS_BATCH`` rows (the last may be
    shorter), so that row ``r`` is in batch ``r // ROWS_BATCH`` at ``r % ROWS_BATCH``; the size is
    written into the file's schema (``ROWS_BATCH_KEY``), so a file stays readable whatever the
    constant becomes. Read by pyarrow, which returns a file's rows in their order whatever DuckDB's
    settings.

    The file is written through a 1 MB buffer (a 512-row batch is a few small writes: unbuffered,
    a 14.8M-row table took 1.2–1.7 s more). ``use_threads=False`` compresses on the calling thread:
    a quarter less CPU (8–9 vs 11.5 CPU-s for 14.8M rows), for a caller whose cores are already busy
    (the demo's fill, two loads at a time)."""
    source = pq.ParquetFile(data)
    schema = source.schema_arrow.with_metadata({ROWS_BATCH_KEY: str(ROWS_BATCH).encode()})
    options = ipc.IpcWriteOptions(compression="zstd", use_threads=use_threads)
    with (
        pa.OSFile(str(target), "wb") as raw,
        pa.output_stream(raw, buffer_size=1 << 20) as sink,
        ipc.new_file(sink, schema, options=options) as writer,
    ):
        pending: list[pa.RecordBatch] = []
        held = 0
        for batch in source.iter_batches(batch_size=ROWS_BATCH * 64, use_threads=use_threads):
            pending.append(batch)
            held += batch.num_rows
            whole = held - held % ROWS_BATCH
            if whole:
                # one chunk: a batch written never straddles two read batches' boundary
                table = pa.Table.from_batches(pending, schema=schema).combine_chunks()
                writer.write_table(table.slice(0, whole), max_chunksize=ROWS_BATCH)
                pending, held = table.slice(whole).to_batches(), held - whole
        if held:
            writer.write_table(pa.Table.from_batches(pending, schema=schema), max_chunksize=ROWS_BATCH)
