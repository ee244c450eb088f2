"""The seed's own design, as a benchmark peer (make bench-compare, issue 14).

The user's document (shared/seed) plans a FastAPI server whose WorkflowManager calls a
db_manager built on Python's sqlite3: create_workflow(workflow_id, prompt, title) and
add_generated_file(workflow_id, file_type, file_path, file_name, file_size, metadata). This
is that design written plainly, with its defaults: one uvicorn worker, plain `def`
endpoints (FastAPI runs them on its thread pool), a sqlite3 connection per call, one commit
per call, sqlite3's default rollback journal and synchronous=FULL, so a 201 is durable as
Storyloom's is. It answers the same three routes the benchmark drives:

  GET  /healthz
  POST /api/v1/workflows          {"prompt": ...}        -> 201 {"id": ...}
  GET  /api/v1/workflows/{id}                            -> 200 the row and its files
  POST /api/v1/workflows/{id}/files  (add_generated_file) -> 201

Run: SEED_DB=/tmp/x/seed.db python3 -m uvicorn seed_peer:app --port N (from bench/peers).
"""
import json
import os
import sqlite3
import uuid
from datetime import datetime, timezone

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

DB_PATH = os.environ.get("SEED_DB", "seed.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS workflows (
    id TEXT PRIMARY KEY,
    original_prompt TEXT NOT NULL,
    story_title TEXT,
    enhanced_story TEXT,
    status TEXT NOT NULL DEFAULT 'created',
    current_phase TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS generated_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT NOT NULL REFERENCES workflows(id),
    file_type TEXT NOT NULL,
    file_path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_size INTEGER,
    metadata TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_files_workflow ON generated_files(workflow_id);
"""


class DatabaseManager:
    """The seed's db_manager: a connection per call, committed when the call ends."""

    def __init__(self, path):
        self.path = path
        with sqlite3.connect(self.path) as conn:
            conn.executescript(SCHEMA)

    def _connect(self):
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def create_workflow(self, workflow_id, prompt, title):
        now = datetime.now(timezone.utc).isoformat()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO workflows (id, original_prompt, story_title, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)", (workflow_id, prompt, title, now, now))

    def add_generated_file(self, workflow_id, file_type, file_path, file_name, file_size,
                           metadata):
        now = datetime.now(timezone.utc).isoformat()
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO generated_files (workflow_id, file_type, file_path, file_name,"
                " file_size, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (workflow_id, file_type, file_path, file_name, file_size, json.dumps(metadata),
                 now))
            return cur.lastrowid

    def get_workflow(self, workflow_id):
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM workflows WHERE id = ?", (workflow_id,)).fetchone()
            if row is None:
                return None
            files = conn.execute("SELECT * FROM generated_files WHERE workflow_id = ?",
                                 (workflow_id,)).fetchall()
            out = dict(row)
            out["files"] = [dict(f) for f in files]
            return out


db_manager = DatabaseManager(DB_PATH)
app = FastAPI()


class NewWorkflow(BaseModel):
    prompt: str
    options: dict | None = None


class NewFile(BaseModel):
    file_type: str
    file_path: str
    file_name: str
    file_size: int
    metadata: dict = {}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/api/v1/workflows", status_code=201)
def create_workflow(body: NewWorkflow):
    workflow_id = str(uuid.uuid4())
    db_manager.create_workflow(workflow_id, body.prompt, "Story title")
    return {"id": workflow_id, "status": "created"}


@app.get("/api/v1/workflows/{workflow_id}")
def get_workflow(workflow_id: str):
    w = db_manager.get_workflow(workflow_id)
    if w is None:
        raise HTTPException(status_code=404, detail="not found")
    return w


@app.post("/api/v1/workflows/{workflow_id}/files", status_code=201)
def add_file(workflow_id: str, body: NewFile):
    file_id = db_manager.add_generated_file(workflow_id, body.file_type, body.file_path,
                                            body.file_name, body.file_size, body.metadata)
    return JSONResponse({"id": file_id}, status_code=201)
