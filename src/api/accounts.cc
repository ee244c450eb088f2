#include "api/accounts.h"

#include "api/json_views.h"
#include "core/clock.h"
#include "core/ids.h"

namespace storyloom::api {

using nlohmann::json;

Result<std::string> CheckPassword(const json& j, const std::string& field) {
  if (!j.is_string()) return Fail(Error::InvalidArgument(field + " must be a string", field));
  std::string p = j.get<std::string>();
  if (p.size() < 8 || p.size() > 1024) {
    return Fail(Error::InvalidArgument(field + " must be 8 to 1024 bytes", field));
  }
  return p;
}

Result<IssuedInvite> IssueInvite(Store& store, const std::string& created_by, Role role,
                                 Millis ttl_ms) {
  IssuedInvite out;
  out.secret = "sli_" + core::RandomToken(32);
  Invite i;
  i.token_hash = Authenticator::HashSecret(out.secret);
  i.role = role;
  i.created_by = created_by;
  i.created_at = core::WallMillis();
  i.expires_at = i.created_at + ttl_ms;
  SL_ASSIGN_OR_RETURN(out.invite,
                      store.WriteOne<Invite>([&](StoreTx& tx) { return tx.invites().Create(i); }));
  return out;
}

std::string InviteUrl(const std::string& base_url, const std::string& secret) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/#/signup?invite=" + secret;
}

json InviteJson(const Invite& i) {
  auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"id", i.id},
          {"role", ToString(i.role)},
          {"created_by", text(i.created_by)},
          {"created_at", core::FormatRfc3339(i.created_at)},
          {"expires_at", core::FormatRfc3339(i.expires_at)},
          {"used_at", TimeJson(i.used_at)},
          {"used_by", text(i.used_by)},
          {"revoked_at", TimeJson(i.revoked_at)}};
}

json SessionJson(const ApiToken& t, bool current) {
  return {{"id", t.id},
          {"kind", t.kind == "session" ? "session" : "token"},
          {"name", t.name},
          {"created_at", core::FormatRfc3339(t.created_at)},
          {"last_used_at", TimeJson(t.last_used_at)},
          {"expires_at", TimeJson(t.expires_at)},
          {"current", current}};
}

}  // namespace storyloom::api
