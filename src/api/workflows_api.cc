// /api/v1/workflows: create, list, get, events (SSE), cancel, retry, delete.
#include <fmt/format.h>

#include <charconv>

#include "api/handler_util.h"
#include "api/json_views.h"
#include "api/routes.h"
#include "api/sse_hub.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

namespace {

constexpr int kDetailFiles = 200;

// The detail document (pure): every phase in pipeline order, pending ones included.
// `scene_files` holds the first page of files and the scenes' files beyond it.
json DetailJson(const WorkflowDetailView& d, const std::vector<GeneratedFile>& scene_files) {
  const Workflow& w = d.workflow;
  json out = WorkflowJson(w);
  json pj = json::array();
  for (Phase phase : kPhaseOrder) {
    WorkflowPhase p{w.id, phase, PhaseStatus::kPending, 0, {}, {}, "", ""};
    for (const auto& have : d.phases) {
      if (have.phase == phase) p = have;
    }
    pj.push_back(PhaseJson(p));
  }
  out["phases"] = std::move(pj);
  json sj = json::array();
  for (const auto& s : d.scenes) sj.push_back(SceneJson(s, scene_files));
  out["scenes"] = std::move(sj);
  json fj = json::array();
  for (const auto& f : d.files.items) fj.push_back(FileJson(f));
  out["files"] = std::move(fj);
  out["files_truncated"] = !d.files.next_cursor.empty();
  out["files_next"] =
      d.files.next_cursor.empty()
          ? json(nullptr)
          : json(fmt::format("/api/v1/files?workflow_id={}&order=oldest&limit=200&cursor={}", w.id,
                             d.files.next_cursor));
  out["cost_usd"] = FormatUsd(d.cost);
  out["cost_unpriced"] = d.cost_unpriced;
  return out;
}

// The detail JSON of workflow `id`: one read (one round trip on PostgreSQL), and one more
// only for scene files beyond the first page of files. Only `p`'s own workflows are found
// (any for admins); the rest are not_found like those that do not exist.
Result<json> WorkflowDetail(App& app, const std::string& id, const Principal& p) {
  if (!core::IsUuid(id)) return Fail(Error::NotFound("no such workflow"));
  auto d = app.store.GetWorkflowDetail(id, kDetailFiles);
  if (!d) {
    if (d.error().code == ErrorCode::kNotFound) return Fail(Error::NotFound("no such workflow"));
    return Fail(d.error());
  }
  // Read before the owner is known, so read in one batch; what is not `p`'s is dropped.
  if (!p.is_admin() && d->workflow.user_id != p.user_id) {
    return Fail(Error::NotFound("no such workflow"));
  }
  // The first 200 files; the rest are a page away (files_next), never silently dropped.
  // Scenes show their image and audio even when those are beyond the first page.
  std::vector<GeneratedFile> scene_files = d->files.items;
  std::vector<std::string> beyond;
  for (const auto& s : d->scenes) {
    for (const std::string* fid : {&s.image_file_id, &s.audio_file_id}) {
      if (fid->empty()) continue;
      bool have = false;
      for (const auto& f : scene_files) have = have || f.id == *fid;
      if (!have) beyond.push_back(*fid);
    }
  }
  if (!beyond.empty()) {
    SL_RETURN_IF_ERROR(app.store.Read([&](StoreTx& tx) -> Result<void> {
      for (const std::string& fid : beyond) {
        if (auto f = tx.files().Get(fid); f) scene_files.push_back(std::move(*f));
      }
      return {};
    }));
  }
  return DetailJson(*d, scene_files);
}

// The 201 of a new workflow, built from the row committed (it has no phases, scenes, files
// or cost yet).
http::Response CreatedResponse(const CreateResult& created) {
  http::Response r = JsonResponse(201, DetailJson({.workflow = created.workflow}, {}));
  r.headers.Set("Location", "/api/v1/workflows/" + created.workflow.id);
  return r;
}

Result<http::Response> CreateWorkflow(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(json body, JsonBody(req));
  auto prompt_it = body.find("prompt");
  if (prompt_it == body.end() || prompt_it->is_null()) {
    return Fail(Error::InvalidArgument("prompt is required", "prompt"));
  }
  if (!prompt_it->is_string())
    return Fail(Error::InvalidArgument("prompt must be a string", "prompt"));
  SL_ASSIGN_OR_RETURN(auto title, OptString(body, "title"));
  std::string options = "{}";
  if (auto it = body.find("options"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return Fail(Error::InvalidArgument("options must be an object", "options"));
    options = it->dump();
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "prompt" && it.key() != "title" && it.key() != "options") {
      return Fail(Error::InvalidArgument("unknown field '" + it.key() + "'", it.key()));
    }
  }
  engine::CreateRequest cr;
  cr.user_id = p.user_id;
  cr.prompt = prompt_it->get<std::string>();
  cr.title = title.value_or("");
  cr.options_json = options;
  cr.idempotency_key = std::string(req.headers.Get("Idempotency-Key").value_or(""));
  cr.request_id = req.request_id;
  if (cr.idempotency_key.empty()) {
    // Nothing to replay: the create joins the next group commit and is answered from it,
    // without holding this handler thread while the commit waits for the disk.
    App* a = &app;
    return http::Response::Later(
        [a, cr = std::move(cr)](const std::shared_ptr<http::Responder>& out) {
          auto queued = a->manager.CreateAsync(cr, [out](Result<CreateResult> created) {
            // Called on a database writer thread: the answer is built elsewhere.
            out->SendBuilt([created = std::move(created)] {
              return created ? CreatedResponse(*created) : ErrorResponse(created.error());
            });
          });
          if (!queued) out->Send(ErrorResponse(queued.error()));
        });
  }
  SL_ASSIGN_OR_RETURN(CreateResult created, app.manager.Create(cr));
  if (created.created) return CreatedResponse(created);
  // A replay: the workflow as it is now.
  SL_ASSIGN_OR_RETURN(json detail, WorkflowDetail(app, created.workflow.id, p));
  http::Response r = JsonResponse(200, detail);
  r.headers.Set("Location", "/api/v1/workflows/" + created.workflow.id);
  r.headers.Set("Idempotent-Replayed", "true");
  return r;
}

Result<http::Response> ListWorkflows(App& app, http::Request& req, const Principal& p) {
  WorkflowFilter f;
  f.user_id = p.user_id;
  if (p.is_admin()) f.user_id = std::string(req.Query("user_id"));
  if (auto s = req.Query("status"); !s.empty()) {
    auto st = ParseWorkflowStatus(s);
    if (!st) {
      return Fail(Error::InvalidArgument(
          "status must be queued, running, completed, failed or cancelled", "status"));
    }
    f.status = st;
  }
  f.q = std::string(req.Query("q"));
  if (f.q.size() > 200)
    return Fail(Error::InvalidArgument("q must be at most 200 characters", "q"));
  SL_ASSIGN_OR_RETURN(f.limit, QueryInt(req, "limit", 50, 1, 200));
  f.cursor = std::string(req.Query("cursor"));
  SL_ASSIGN_OR_RETURN(auto page, app.store.ListWorkflows(f));
  json items = json::array();
  for (const auto& w : page.items) items.push_back(WorkflowJson(w));
  return JsonResponse(
      200, {{"items", items},
            {"next_cursor", page.next_cursor.empty() ? json(nullptr) : json(page.next_cursor)}});
}

Result<http::Response> GetWorkflow(App& app, http::Request& req, const Principal& p) {
  // One read transaction, one batch of reads, for the ownership check and the detail.
  SL_ASSIGN_OR_RETURN(json detail, WorkflowDetail(app, req.path_params["id"], p));
  return JsonResponse(200, detail);
}

Result<http::Response> WorkflowEvents(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, req.path_params["id"], p));
  std::int64_t last = 0;
  std::string_view header = req.headers.Get("Last-Event-ID").value_or(req.Query("last_event_id"));
  if (!header.empty()) {
    auto [ptr, ec] = std::from_chars(header.data(), header.data() + header.size(), last);
    if (ec != std::errc() || ptr != header.data() + header.size() || last < 0) {
      return Fail(Error::InvalidArgument("Last-Event-ID must be an event id", "Last-Event-ID"));
    }
  }
  http::Response r;
  r.status = 200;
  r.headers.Set("Content-Type", "text/event-stream");
  r.headers.Set("Cache-Control", "no-cache");
  r.headers.Set("X-Accel-Buffering", "no");
  r.sse = app.sse->Open(w.id, last);
  return r;
}

Result<http::Response> CancelWorkflow(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, req.path_params["id"], p));
  SL_ASSIGN_OR_RETURN(Workflow after, app.manager.Cancel(w.id, req.request_id));
  SL_ASSIGN_OR_RETURN(json detail, WorkflowDetail(app, after.id, p));
  return JsonResponse(202, detail);
}

Result<http::Response> RetryWorkflow(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, req.path_params["id"], p));
  SL_ASSIGN_OR_RETURN(Workflow after, app.manager.Retry(w.id, req.request_id));
  SL_ASSIGN_OR_RETURN(json detail, WorkflowDetail(app, after.id, p));
  return JsonResponse(202, detail);
}

Result<http::Response> DeleteWorkflow(App& app, http::Request& req, const Principal& p) {
  SL_ASSIGN_OR_RETURN(Workflow w, OwnedWorkflow(app, req.path_params["id"], p));
  SL_RETURN_IF_ERROR(app.manager.Delete(w.id));
  AuditEntry a;
  a.user_id = p.user_id;
  a.action = "workflow.delete";
  a.target = w.id;
  a.remote_addr = req.remote_addr;
  (void)app.store.Write([&](StoreTx& tx) { return tx.audit().Append(a); });
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace

void AddWorkflowRoutes(App& app, http::Router& r) {
  auto bind = [&app](auto fn) {
    return Authed(app,
                  [&app, fn](http::Request& req, const Principal& p) { return fn(app, req, p); });
  };
  r.Add("POST", "/api/v1/workflows", bind(CreateWorkflow));
  r.Add("GET", "/api/v1/workflows", bind(ListWorkflows));
  r.Add("GET", "/api/v1/workflows/{id}", bind(GetWorkflow));
  r.Add("DELETE", "/api/v1/workflows/{id}", bind(DeleteWorkflow));
  r.Add("GET", "/api/v1/workflows/{id}/events", bind(WorkflowEvents));
  r.Add("POST", "/api/v1/workflows/{id}/cancel", bind(CancelWorkflow));
  r.Add("POST", "/api/v1/workflows/{id}/retry", bind(RetryWorkflow));
}

}  // namespace storyloom::api
