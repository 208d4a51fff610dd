#include "common/serving/bounded_acceptor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/serving/listen_address.h"

namespace weft {
namespace {

// Short: a probe connects, asks once and leaves.
constexpr int kListenBacklog = 16;

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<int> ListenTcp(const ListenAddress& address) {
  sockaddr_storage storage{};
  socklen_t length;
  if (address.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address.port);
    inet_pton(AF_INET6, address.host.c_str(), &in6->sin6_addr);
    length = sizeof(*in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(address.port);
    inet_pton(AF_INET, address.host.c_str(), &in->sin_addr);
    length = sizeof(*in);
  }
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Errno("socket");
  absl::Cleanup close_fd = [fd] { close(fd); };
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) return Errno("bind");
  if (listen(fd, kListenBacklog) != 0) return Errno("listen");
  std::move(close_fd).Cancel();
  return fd;
}

int BoundPort(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  return storage.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

// Bytes read from one side, not yet written to the other.
struct Pending {
  std::array<char, 16384> data;
  size_t begin = 0;
  size_t end = 0;
  bool empty() const { return begin == end; }
};

// Reads into an emptied `pending`: false at the end of the stream or on an
// error, true otherwise (also when nothing was there).
bool Fill(int from, Pending& pending, bool* got) {
  const ssize_t n = read(from, pending.data.data(), pending.data.size());
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  pending.begin = 0;
  pending.end = size_t(n);
  *got = true;
  return true;
}

// Writes what `pending` holds: false on an error.
bool Drain(int to, Pending& pending, bool* wrote = nullptr) {
  const ssize_t n =
      send(to, pending.data.data() + pending.begin, pending.end - pending.begin, MSG_NOSIGNAL);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  pending.begin += size_t(n);
  if (wrote != nullptr) *wrote = n > 0;
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BoundedAcceptor>> BoundedAcceptor::Start(
    const std::string& address, BoundedAcceptorOptions options, Serve serve) {
  ASSIGN_OR_RETURN(const ListenAddress parsed, ParseListenAddress(address));
  absl::StatusOr<int> listen_fd = ListenTcp(parsed);
  RETURN_IF_ERROR(WithContext(listen_fd.status(), absl::StrCat("listening on ", address)));
  const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    close(*listen_fd);
    return Errno("eventfd");
  }
  std::unique_ptr<BoundedAcceptor> acceptor(
      new BoundedAcceptor(*listen_fd, stop_fd, BoundPort(*listen_fd), options, std::move(serve)));
  acceptor->accept_thread_ = std::thread([a = acceptor.get()] { a->AcceptLoop(); });
  return acceptor;
}

void BoundedAcceptor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  const uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
  accept_thread_.join();
  std::unique_lock<std::mutex> lock(mu_);
  relays_done_.wait(lock, [this] { return relays_ == 0; });
  close(listen_fd_);
  close(stop_fd_);
}

void BoundedAcceptor::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{.fd = listen_fd_, .events = POLLIN, .revents = 0},
                     {.fd = stop_fd_, .events = POLLIN, .revents = 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) Accept();
  }
}

void BoundedAcceptor::Accept() {
  const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (client < 0) {
    // Out of descriptors: the connection waits in the backlog; try again
    // in a moment rather than spin.
    if (errno == EMFILE || errno == ENFILE) {
      pollfd stop = {.fd = stop_fd_, .events = POLLIN, .revents = 0};
      poll(&stop, 1, 100);
    }
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (relays_ >= options_.max_connections) {
      close(client);  // refused: the client sees the connection end
      return;
    }
    ++relays_;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
    close(client);
    std::lock_guard<std::mutex> lock(mu_);
    --relays_;
    relays_done_.notify_all();
    return;
  }
  serve_(pair[0]);
  std::thread([this, client, inner = pair[1]] {
    Relay(client, inner);
    close(client);
    close(inner);
    std::lock_guard<std::mutex> lock(mu_);
    --relays_;
    relays_done_.notify_all();
  }).detach();
}

void BoundedAcceptor::Relay(int client, int inner) const {
  Pending to_inner, to_client;
  absl::Time client_sent = absl::Now();  // when the client last sent a byte
  absl::Time client_read = client_sent;  // when it last took some of ours
  for (;;) {
    pollfd fds[3] = {
        {.fd = client,
         .events = short((to_inner.empty() ? POLLIN : 0) | (to_client.empty() ? 0 : POLLOUT)),
         .revents = 0},
        {.fd = inner,
         .events = short((to_client.empty() ? POLLIN : 0) | (to_inner.empty() ? 0 : POLLOUT)),
         .revents = 0},
        {.fd = stop_fd_, .events = POLLIN, .revents = 0}};
    absl::Time deadline = client_sent + options_.idle_timeout;
    if (!to_client.empty()) deadline = std::min(deadline, client_read + options_.idle_timeout);
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return;  // idle, or not reading
    const int timeout_ms = int(absl::ToInt64Milliseconds(left)) + 1;
    if (poll(fds, 3, timeout_ms) < 0 && errno != EINTR) return;
    if (fds[2].revents != 0) return;
    for (const pollfd& fd : {fds[0], fds[1]}) {
      if (fd.revents & (POLLERR | POLLHUP | POLLNVAL)) return;
    }
    bool from_client = false, from_inner = false, to_client_progress = false;
    if (to_inner.empty() && !Fill(client, to_inner, &from_client)) return;
    if (from_client) client_sent = absl::Now();
    if (to_client.empty() && !Fill(inner, to_client, &from_inner)) return;
    if (!to_inner.empty() && !Drain(inner, to_inner)) return;
    if (!to_client.empty() && !Drain(client, to_client, &to_client_progress)) return;
    // The client's clock for reading starts when it has something to read.
    if (from_inner || to_client_progress) client_read = absl::Now();
  }
}

}  // namespace weft
