// powercut_fs: a FUSE passthrough filesystem that behaves like a disk losing power (test
// support for issue #13, docs/RELIABILITY.md "Power cuts").
//
//   powercut_fs <backing_dir> <state_dir> <mountpoint> [-d]
//
// Every operation passes through to <backing_dir>, but the filesystem keeps apart what has
// not been made durable:
//  - file data: per inode, the original content of every 4 KiB page modified since the
//    file's last fsync/fdatasync, and the size at that fsync ("durable size");
//  - directory entries: a durable namespace (directory inode -> name -> inode) and an
//    ordered log of pending entry operations (create, mkdir, mknod, symlink, link, unlink,
//    rmdir, rename). fsync of a directory applies, in order, every pending operation that
//    touches it (a rename applies to both of its directories at once).
// Inodes are identified by the backing inode number. Each non-directory inode gets a hard
// link in <state_dir>/inodes/<ino> when first seen, so its data outlives an unlink or a
// rename over it (the durable namespace may still name it) and inode numbers are never
// reused; rmdir moves the (empty) directory to <state_dir>/graveyard for the same reason.
// getattr hides that extra link from st_nlink.
//
// Control: writing to <mountpoint>/.powercut
//   "cut"        power cut: everything unsynced is lost;
//   "torn SEED"  power cut that keeps a random part of the unsynced state: each modified
//                4 KiB page keeps its new or its old content at random, the size is the
//                durable or the current one, and a random prefix of the pending entry
//                operations survives (a journal commits in order);
//   "sync"       everything becomes durable (sync(1)), to set a baseline.
// After a cut the durable image is built in <state_dir>/image (hard links to the inodes,
// restored in place) and every later operation fails with EIO. The caller then kills the
// processes using the mount, unmounts, replaces <backing_dir> with <state_dir>/image and
// mounts again: the "reboot".
//
// Runs single-threaded (-s): every operation is serialised, so a cut happens between two
// operations, never inside one. No kernel writeback cache, no direct_io (SQLite's -shm
// mmap works); attribute and entry caching off.
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

constexpr off_t kPage = 4096;
constexpr uint64_t kControlFh = ~uint64_t{0};
constexpr const char* kControlPath = "/.powercut";

struct Entry {
  ino_t ino = 0;
  mode_t mode = 0;
};

struct EntryChange {
  ino_t dir = 0;
  std::string name;
  std::optional<Entry> entry;  // nullopt = the name is removed
};

struct PendingOp {
  std::vector<EntryChange> changes;
};

struct DirtyFile {
  off_t durable_size = 0;
  std::map<off_t, std::string> saved;  // page index -> durable content (short at the end)
  std::set<off_t> new_pages;           // pages at or beyond durable_size written since
};

struct State {
  std::string backing;
  std::string state_dir;
  ino_t root_ino = 0;
  bool dead = false;
  std::map<ino_t, std::map<std::string, Entry>> durable_dirs;
  std::deque<PendingOp> pending;
  std::map<ino_t, DirtyFile> dirty;
  std::set<ino_t> linked;  // non-directory inodes with a link in state_dir/inodes
  uint64_t cuts = 0;
};

State g;

std::string Real(const char* path) { return g.backing + path; }
std::string InodeLink(ino_t ino) { return g.state_dir + "/inodes/" + std::to_string(ino); }

std::string Parent(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}
std::string Base(const std::string& path) { return path.substr(path.rfind('/') + 1); }

void Log(const std::string& s) { fprintf(stderr, "powercut_fs: %s\n", s.c_str()); }

ino_t InoOf(const std::string& real_path) {
  struct stat st {};
  if (lstat(real_path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// Links a non-directory inode into state_dir/inodes (once).
void Track(const std::string& real_path) {
  struct stat st {};
  if (lstat(real_path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) return;
  if (g.linked.contains(st.st_ino)) return;
  if (linkat(AT_FDCWD, real_path.c_str(), AT_FDCWD, InodeLink(st.st_ino).c_str(), 0) != 0 &&
      errno != EEXIST) {
    Log("link " + real_path + ": " + strerror(errno));
    return;
  }
  g.linked.insert(st.st_ino);
}

std::optional<Entry> EntryOf(const std::string& real_path) {
  struct stat st {};
  if (lstat(real_path.c_str(), &st) != 0) return std::nullopt;
  return Entry{st.st_ino, st.st_mode};
}

// Records a pending entry operation made of `changes`.
void AddPending(std::vector<EntryChange> changes) {
  g.pending.push_back(PendingOp{std::move(changes)});
}

void Apply(const PendingOp& op) {
  for (const auto& c : op.changes) {
    auto& dir = g.durable_dirs[c.dir];
    if (c.entry)
      dir[c.name] = *c.entry;
    else
      dir.erase(c.name);
  }
}

// fsync of directory `dir`: applies, in order, every pending operation touching it.
void SyncDir(ino_t dir) {
  std::deque<PendingOp> rest;
  for (auto& op : g.pending) {
    bool touches = false;
    for (const auto& c : op.changes) touches = touches || c.dir == dir;
    if (touches)
      Apply(op);
    else
      rest.push_back(std::move(op));
  }
  g.pending = std::move(rest);
}

// Before data of `fd` (inode `ino`) in [off, off+len) changes: saves the durable content
// of the pages concerned (the first time since the last fsync).
void BeforeModify(int fd, off_t off, off_t len) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || len <= 0) return;
  auto [it, fresh] = g.dirty.try_emplace(st.st_ino);
  DirtyFile& d = it->second;
  if (fresh) d.durable_size = st.st_size;
  int reader = -1;  // `fd` may be write-only
  for (off_t p = off / kPage; p <= (off + len - 1) / kPage; ++p) {
    if (p * kPage >= d.durable_size) {
      d.new_pages.insert(p);
      continue;
    }
    if (d.saved.contains(p)) continue;
    if (reader < 0) reader = open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY);
    std::string page(kPage, '\0');
    const ssize_t n = pread(reader, page.data(), kPage, p * kPage);
    if (n < 0) Log("saving a page failed: " + std::string(strerror(errno)));
    page.resize(n > 0 ? n : 0);
    d.saved.emplace(p, std::move(page));
  }
  if (reader >= 0) close(reader);
}

// Before `fd` is truncated to `size`.
void BeforeTruncate(int fd, off_t size) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return;
  if (size < st.st_size)
    BeforeModify(fd, size, st.st_size - size);
  else
    g.dirty.try_emplace(st.st_ino, DirtyFile{st.st_size, {}, {}});
}

// Walks the backing tree at mount: everything there is durable.
void Walk(const std::string& real_dir, ino_t dir_ino) {
  auto& entries = g.durable_dirs[dir_ino];
  DIR* d = opendir(real_dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string p = real_dir + "/" + name;
    auto entry = EntryOf(p);
    if (!entry) continue;
    entries[name] = *entry;
    if (S_ISDIR(entry->mode))
      Walk(p, entry->ino);
    else
      Track(p);
  }
  closedir(d);
}

// Restores an inode's durable content in place (torn: a random mix).
void RestoreData(std::mt19937_64* rng) {
  auto coin = [&] { return rng && ((*rng)() & 1); };
  for (const auto& [ino, d] : g.dirty) {
    if (!g.linked.contains(ino)) continue;
    const int fd = open(InodeLink(ino).c_str(), O_WRONLY);
    if (fd < 0) continue;
    struct stat st {};
    fstat(fd, &st);
    const bool keep_size = coin();
    const off_t final_size = keep_size ? st.st_size : d.durable_size;
    for (const auto& [p, content] : d.saved) {
      if (coin()) continue;  // torn: this page keeps its new content
      if (pwrite(fd, content.data(), content.size(), p * kPage) < 0) Log("restore write failed");
    }
    if (keep_size) {
      const std::string zeros(kPage, '\0');
      for (off_t p : d.new_pages)
        if (!coin() && p * kPage < final_size && p * kPage >= d.durable_size)
          pwrite(fd, zeros.data(), std::min<off_t>(kPage, final_size - p * kPage), p * kPage);
    }
    if (ftruncate(fd, final_size) != 0) Log("restore truncate failed");
    close(fd);
  }
}

bool Materialize(ino_t dir, const std::string& out, int depth) {
  if (depth > 64) return false;
  for (const auto& [name, e] : g.durable_dirs[dir]) {
    const std::string p = out + "/" + name;
    if (S_ISDIR(e.mode)) {
      if (mkdir(p.c_str(), e.mode & 07777) != 0) return false;
      if (!Materialize(e.ino, p, depth + 1)) return false;
    } else if (linkat(AT_FDCWD, InodeLink(e.ino).c_str(), AT_FDCWD, p.c_str(), 0) != 0) {
      Log("materialize " + p + ": " + strerror(errno));
      return false;
    }
  }
  return true;
}

int Cut(std::mt19937_64* rng) {
  if (rng && !g.pending.empty()) {
    const size_t keep = (*rng)() % (g.pending.size() + 1);
    for (size_t i = 0; i < keep; ++i) Apply(g.pending[i]);
  }
  g.pending.clear();
  RestoreData(rng);
  g.dirty.clear();
  const std::string image = g.state_dir + "/image";
  std::filesystem::remove_all(image);
  struct stat st {};
  lstat(g.backing.c_str(), &st);
  if (mkdir(image.c_str(), st.st_mode & 07777) != 0 || !Materialize(g.root_ino, image, 0)) {
    Log("cut: materialising the durable image failed");
    return -EIO;
  }
  g.dead = true;
  Log(std::string("power cut (") + (rng ? "torn" : "drop") + "); durable image in " + image);
  return 0;
}

int Control(const char* buf, size_t size) {
  std::string cmd(buf, size);
  while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == ' ')) cmd.pop_back();
  if (cmd == "cut") return Cut(nullptr);
  if (cmd.starts_with("torn")) {
    std::mt19937_64 rng(cmd.size() > 5 ? std::stoull(cmd.substr(5)) : 1);
    return Cut(&rng);
  }
  if (cmd == "sync") {
    for (const auto& op : g.pending) Apply(op);
    g.pending.clear();
    g.dirty.clear();
    return 0;
  }
  return -EINVAL;
}

#define DEAD_CHECK \
  if (g.dead) return -EIO

int Err(int r) { return r < 0 ? -errno : r; }

void FixNlink(struct stat* st) {
  if (!S_ISDIR(st->st_mode) && g.linked.contains(st->st_ino) && st->st_nlink > 0) --st->st_nlink;
}

void* Init(fuse_conn_info* conn, fuse_config* cfg) {
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  cfg->hard_remove = 1;
  cfg->use_ino = 1;  // st_ino of the backing inode: hard links show as one inode
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->direct_io = 0;
  cfg->kernel_cache = 0;
  return nullptr;
}

int GetAttr(const char* path, struct stat* st, fuse_file_info* fi) {
  DEAD_CHECK;
  if (strcmp(path, kControlPath) == 0) {
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    return 0;
  }
  const int r = fi && fi->fh != kControlFh ? fstat(fi->fh, st) : lstat(Real(path).c_str(), st);
  if (r != 0) return -errno;
  FixNlink(st);
  return 0;
}

int Access(const char* path, int mask) {
  DEAD_CHECK;
  if (strcmp(path, kControlPath) == 0) return 0;
  return Err(access(Real(path).c_str(), mask));
}

int ReadLink(const char* path, char* buf, size_t size) {
  DEAD_CHECK;
  const ssize_t n = readlink(Real(path).c_str(), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int OpenDir(const char* path, fuse_file_info* fi) {
  DEAD_CHECK;
  DIR* d = opendir(Real(path).c_str());
  if (!d) return -errno;
  fi->fh = reinterpret_cast<uint64_t>(d);
  return 0;
}

int ReadDir(const char*, void* buf, fuse_fill_dir_t filler, off_t, fuse_file_info* fi,
            fuse_readdir_flags) {
  DEAD_CHECK;
  DIR* d = reinterpret_cast<DIR*>(fi->fh);
  rewinddir(d);
  while (dirent* e = readdir(d)) {
    struct stat st {};
    st.st_ino = e->d_ino;
    st.st_mode = DTTOIF(e->d_type);
    if (filler(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  return 0;
}

int ReleaseDir(const char*, fuse_file_info* fi) {
  closedir(reinterpret_cast<DIR*>(fi->fh));
  return 0;
}

int FsyncDir(const char* path, int, fuse_file_info*) {
  DEAD_CHECK;
  const ino_t ino = InoOf(Real(path));
  if (ino == 0) return -errno;
  SyncDir(ino);
  return 0;
}

// A new name `path` appeared (create, mkdir, mknod, symlink, link).
void NameAdded(const char* path) {
  const std::string real = Real(path);
  auto entry = EntryOf(real);
  if (!entry) return;
  if (S_ISDIR(entry->mode))
    g.durable_dirs.try_emplace(entry->ino);
  else
    Track(real);
  AddPending({EntryChange{InoOf(Real(Parent(path).c_str())), Base(path), entry}});
}

int MkNod(const char* path, mode_t mode, dev_t rdev) {
  DEAD_CHECK;
  if (mknod(Real(path).c_str(), mode, rdev) != 0) return -errno;
  NameAdded(path);
  return 0;
}

int MkDir(const char* path, mode_t mode) {
  DEAD_CHECK;
  if (mkdir(Real(path).c_str(), mode) != 0) return -errno;
  NameAdded(path);
  return 0;
}

int Symlink(const char* target, const char* path) {
  DEAD_CHECK;
  if (symlink(target, Real(path).c_str()) != 0) return -errno;
  NameAdded(path);
  return 0;
}

int Link(const char* from, const char* to) {
  DEAD_CHECK;
  if (link(Real(from).c_str(), Real(to).c_str()) != 0) return -errno;
  NameAdded(to);
  return 0;
}

int Unlink(const char* path) {
  DEAD_CHECK;
  const std::string real = Real(path);
  Track(real);  // keeps the inode (and its number) alive
  if (unlink(real.c_str()) != 0) return -errno;
  AddPending({EntryChange{InoOf(Real(Parent(path).c_str())), Base(path), std::nullopt}});
  return 0;
}

bool EmptyDir(const std::string& real) {
  DIR* d = opendir(real.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = readdir(d))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
  closedir(d);
  return empty;
}

int RmDir(const char* path) {
  DEAD_CHECK;
  const std::string real = Real(path);
  struct stat st {};
  if (lstat(real.c_str(), &st) != 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  if (!EmptyDir(real)) return -ENOTEMPTY;
  // Moved aside, not removed, so its inode number is not reused while the durable
  // namespace may still name it.
  const std::string grave = g.state_dir + "/graveyard/" + std::to_string(st.st_ino);
  if (rename(real.c_str(), grave.c_str()) != 0) return -errno;
  AddPending({EntryChange{InoOf(Real(Parent(path).c_str())), Base(path), std::nullopt}});
  return 0;
}

int Rename(const char* from, const char* to, unsigned int flags) {
  DEAD_CHECK;
  const std::string rf = Real(from), rt = Real(to);
  if (!(flags & RENAME_EXCHANGE)) {
    struct stat st {};
    if (lstat(rt.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) Track(rt);
  }
  // Renaming a directory over an empty one: the victim goes to the graveyard first (its
  // inode number stays taken), and comes back if the rename fails.
  std::string grave;
  struct stat from_st {};
  struct stat to_st {};
  if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) && lstat(rf.c_str(), &from_st) == 0 &&
      S_ISDIR(from_st.st_mode) && lstat(rt.c_str(), &to_st) == 0 && S_ISDIR(to_st.st_mode) &&
      from_st.st_ino != to_st.st_ino) {
    if (!EmptyDir(rt)) return -ENOTEMPTY;
    grave = g.state_dir + "/graveyard/" + std::to_string(to_st.st_ino);
    if (rename(rt.c_str(), grave.c_str()) != 0) return -errno;
  }
  if (syscall(SYS_renameat2, AT_FDCWD, rf.c_str(), AT_FDCWD, rt.c_str(), flags) != 0) {
    const int e = errno;
    if (!grave.empty()) rename(grave.c_str(), rt.c_str());
    return -e;
  }
  const ino_t from_dir = InoOf(Real(Parent(from).c_str()));
  const ino_t to_dir = InoOf(Real(Parent(to).c_str()));
  std::vector<EntryChange> changes;
  changes.push_back(
      {from_dir, Base(from), (flags & RENAME_EXCHANGE) ? EntryOf(rf) : std::optional<Entry>{}});
  changes.push_back({to_dir, Base(to), EntryOf(rt)});
  AddPending(std::move(changes));
  return 0;
}

int Chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  DEAD_CHECK;
  if (fi && fi->fh != kControlFh) return Err(fchmod(fi->fh, mode));
  return Err(chmod(Real(path).c_str(), mode));
}

int Chown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  DEAD_CHECK;
  if (fi && fi->fh != kControlFh) return Err(fchown(fi->fh, uid, gid));
  return Err(lchown(Real(path).c_str(), uid, gid));
}

int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  DEAD_CHECK;
  if (strcmp(path ? path : "", kControlPath) == 0 || (fi && fi->fh == kControlFh)) return 0;
  int fd = fi ? static_cast<int>(fi->fh) : open(Real(path).c_str(), O_WRONLY);
  if (fd < 0) return -errno;
  BeforeTruncate(fd, size);
  const int r = Err(ftruncate(fd, size));
  if (!fi) close(fd);
  return r;
}

int Utimens(const char* path, const struct timespec tv[2], fuse_file_info* fi) {
  DEAD_CHECK;
  if (fi && fi->fh != kControlFh) return Err(futimens(fi->fh, tv));
  if (strcmp(path, kControlPath) == 0) return 0;
  return Err(utimensat(AT_FDCWD, Real(path).c_str(), tv, AT_SYMLINK_NOFOLLOW));
}

int OpenReal(const char* path, int flags, mode_t mode, fuse_file_info* fi) {
  const bool trunc = flags & O_TRUNC;
  const int fd = open(Real(path).c_str(), flags & ~O_TRUNC, mode);
  if (fd < 0) return -errno;
  if (trunc && (flags & O_ACCMODE) != O_RDONLY) {
    BeforeTruncate(fd, 0);
    if (ftruncate(fd, 0) != 0) {
      const int e = errno;
      close(fd);
      return -e;
    }
  }
  fi->fh = fd;
  return 0;
}

int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  DEAD_CHECK;
  const std::string real = Real(path);
  struct stat st {};
  const bool existed = lstat(real.c_str(), &st) == 0;
  const int r = OpenReal(path, fi->flags | O_CREAT, mode, fi);
  if (r != 0) return r;
  if (!existed) {
    NameAdded(path);
    // A new file's durable content is empty until it is fsynced.
    struct stat now {};
    fstat(fi->fh, &now);
    g.dirty.try_emplace(now.st_ino, DirtyFile{0, {}, {}});
  }
  return 0;
}

int Open(const char* path, fuse_file_info* fi) {
  DEAD_CHECK;
  if (strcmp(path, kControlPath) == 0) {
    fi->fh = kControlFh;
    fi->direct_io = 1;
    return 0;
  }
  return OpenReal(path, fi->flags, 0, fi);
}

int Read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  DEAD_CHECK;
  if (fi->fh == kControlFh) return 0;
  const ssize_t n = pread(fi->fh, buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}

int Write(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  DEAD_CHECK;
  if (fi->fh == kControlFh) {
    const int r = Control(buf, size);
    return r < 0 ? r : static_cast<int>(size);
  }
  int fd = static_cast<int>(fi->fh);
  if (fi->flags & O_APPEND) {
    struct stat st {};
    fstat(fd, &st);
    off = st.st_size;
  }
  BeforeModify(fd, off, static_cast<off_t>(size));
  const ssize_t n = pwrite(fd, buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}

int StatFs(const char*, struct statvfs* st) {
  DEAD_CHECK;
  return Err(statvfs(g.backing.c_str(), st));
}

int Flush(const char*, fuse_file_info*) { return 0; }

int Release(const char*, fuse_file_info* fi) {
  if (fi->fh != kControlFh) close(fi->fh);
  return 0;
}

int Fsync(const char*, int, fuse_file_info* fi) {
  DEAD_CHECK;
  if (fi->fh == kControlFh) return 0;
  struct stat st {};
  if (fstat(fi->fh, &st) != 0) return -errno;
  g.dirty.erase(st.st_ino);  // its data is durable now (its name is not, until a dir fsync)
  return 0;
}

int Fallocate(const char*, int mode, off_t off, off_t len, fuse_file_info* fi) {
  DEAD_CHECK;
  if (mode != 0 || fi->fh == kControlFh) return -EOPNOTSUPP;
  struct stat st {};
  if (fstat(fi->fh, &st) != 0) return -errno;
  // The data does not change; a new size past the durable one is undone by a cut.
  g.dirty.try_emplace(st.st_ino, DirtyFile{st.st_size, {}, {}});
  return Err(fallocate(fi->fh, 0, off, len));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <backing_dir> <state_dir> <mountpoint> [-d]\n", argv[0]);
    return 2;
  }
  umask(0);
  g.backing = std::filesystem::canonical(argv[1]).string();
  g.state_dir = std::filesystem::canonical(argv[2]).string();
  std::filesystem::create_directories(g.state_dir + "/inodes");
  std::filesystem::create_directories(g.state_dir + "/graveyard");
  g.root_ino = InoOf(g.backing);
  Walk(g.backing, g.root_ino);

  fuse_operations ops{};
  ops.init = Init;
  ops.getattr = GetAttr;
  ops.access = Access;
  ops.readlink = ReadLink;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.releasedir = ReleaseDir;
  ops.fsyncdir = FsyncDir;
  ops.mknod = MkNod;
  ops.mkdir = MkDir;
  ops.symlink = Symlink;
  ops.link = Link;
  ops.unlink = Unlink;
  ops.rmdir = RmDir;
  ops.rename = Rename;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.truncate = Truncate;
  ops.utimens = Utimens;
  ops.create = Create;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.statfs = StatFs;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.fallocate = Fallocate;

  std::vector<std::string> args = {argv[0], argv[3], "-f", "-s", "-o", "fsname=powercut"};
  for (int i = 4; i < argc; ++i) args.push_back(argv[i]);
  if (getenv("POWERCUT_FS_DEBUG")) args.push_back("-d");  // every operation on stderr
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  return fuse_main(static_cast<int>(cargs.size()), cargs.data(), &ops, nullptr);
}
