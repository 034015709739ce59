// board_sim: the board top (hire_snn_ulx3s, with the pass-through sim PLL) in Verilator, as a
// serial device on a pseudo-terminal, so that the host runtime talks to it exactly as to a
// ULX3S's FT231X (python -m rtl.board RUN --port sim:PROJECT).
//
// The clock runs here, in C++; one loop iteration is one design clock cycle (CLK_HZ). Bytes the
// host writes to the pty are serialised onto the FPGA's RX pin (ftdi_txd) at the host's bit
// time CLK_HZ / (BAUD * (1 + skew)), a real-valued number of cycles (a true BAUD host, not the
// design's rounded divisor), back to back, 8N1. The FPGA's TX pin (ftdi_rxd) is deserialised
// independently of the RTL UART: a falling edge starts a byte, each bit is sampled in its
// middle at the same host bit time, and the byte goes to the pty. While the board is idle
// (LED 0 low, nothing queued, both lines idle) the loop blocks on the pty instead of spinning.
//
// Usage: Vboard --clk-hz HZ --baud BAUD [--skew-ppm P] [--stats FILE] [--max-cycles N]
//               [--stop-error-at K]   (byte K of the host's stream goes out with a low stop bit)
// Prints "pty /dev/pts/N" on stdout once the board is out of reset, then runs until stdin is
// closed (the host's handle on this process), and writes its counters as JSON to --stats.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <deque>
#include <memory>
#include <string>

#include "Vboard.h"
#include "verilated.h"

namespace {

struct Stats {
    uint64_t cycles = 0;
    uint64_t bytes_in = 0;             // host -> board, serialised onto RX
    uint64_t bytes_out = 0;            // board -> host, deserialised from TX
    uint64_t tx_frame_errors = 0;      // a TX byte whose stop bit was low
    uint64_t tx_glitches = 0;          // a TX falling edge that was not a start bit
    uint64_t min_tx_spacing = 0;       // fewest cycles between two TX start edges (0: < 2 bytes)
    uint64_t blocked = 0;              // times the loop waited for the host while idle
};

double now_s() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void write_stats(const char* path, const Stats& s, double hz, double baud, double bit,
                 double secs, const char* why) {
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"cycles\": %llu, \"bytes_in\": %llu, \"bytes_out\": %llu, "
             "\"tx_frame_errors\": %llu, \"tx_glitches\": %llu, \"min_tx_spacing\": %llu, "
             "\"blocked\": %llu, \"clk_hz\": %.0f, \"baud\": %.0f, \"host_bit_cycles\": %.6f, "
             "\"seconds\": %.3f, \"cycles_per_second\": %.0f, \"exit\": \"%s\"}\n",
             (unsigned long long)s.cycles, (unsigned long long)s.bytes_in,
             (unsigned long long)s.bytes_out, (unsigned long long)s.tx_frame_errors,
             (unsigned long long)s.tx_glitches, (unsigned long long)s.min_tx_spacing,
             (unsigned long long)s.blocked, hz, baud, bit, secs,
             secs > 0 ? s.cycles / secs : 0.0, why);
    fputs(buf, stderr);
    if (path) {
        std::string tmp = std::string(path) + ".tmp";
        FILE* f = fopen(tmp.c_str(), "w");
        if (f) {
            fputs(buf, f);
            fclose(f);
            rename(tmp.c_str(), path);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    double clk_hz = 0, baud = 0, skew_ppm = 0;
    const char* stats_path = nullptr;
    uint64_t max_cycles = 0;
    long long stop_error_at = -1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                fprintf(stderr, "board_sim: %s needs a value\n", a.c_str());
                exit(2);
            }
            return argv[++i];
        };
        if (a == "--clk-hz") clk_hz = atof(next());
        else if (a == "--baud") baud = atof(next());
        else if (a == "--skew-ppm") skew_ppm = atof(next());
        else if (a == "--stats") stats_path = next();
        else if (a == "--max-cycles") max_cycles = strtoull(next(), nullptr, 10);
        else if (a == "--stop-error-at") stop_error_at = atoll(next());
    }
    if (clk_hz <= 0 || baud <= 0) {
        fprintf(stderr, "usage: %s --clk-hz HZ --baud BAUD [--skew-ppm P] [--stats FILE] "
                        "[--max-cycles N] [--stop-error-at K]\n", argv[0]);
        return 2;
    }
    const double bit = clk_hz / (baud * (1.0 + skew_ppm * 1e-6));   // host bit time, cycles

    // the pseudo-terminal: the host opens the slave; we keep a slave fd open so that reads on
    // the master do not fail while the host has it closed
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        perror("board_sim: posix_openpt");
        return 2;
    }
    const char* slave_name = ptsname(master);
    int slave = open(slave_name, O_RDWR | O_NOCTTY);
    struct termios tio;
    if (slave < 0 || tcgetattr(slave, &tio) != 0) {
        perror("board_sim: pty slave");
        return 2;
    }
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);

    auto ctx = std::make_unique<VerilatedContext>();
    ctx->commandArgs(argc, argv);
    auto top = std::make_unique<Vboard>(ctx.get());
    top->clk_25mhz = 0;
    top->ftdi_txd = 1;
    top->btn_pwr_n = 1;
    top->eval();

    Stats st;
    uint64_t cycle = 0;
    auto tick = [&]() {
        top->clk_25mhz = 1;
        top->eval();
        top->clk_25mhz = 0;
        top->eval();
        ++cycle;
    };
    for (int i = 0; i < 256; ++i) tick();            // PLL lock, reset release
    printf("pty %s\n", slave_name);
    fflush(stdout);

    std::deque<uint8_t> rxq;                          // host bytes not yet on the line
    bool ser_on = false;                              // a byte is on the RX line
    double ser_t0 = -1e18;                            // its start edge, in (fractional) cycles
    uint16_t ser_frame = 0;                           // {stop, data, start}, LSB first
    bool des_on = false;                              // deserialising a TX byte
    uint64_t des_t0 = 0, last_start = 0;
    bool have_start = false;
    int des_k = 0;
    uint8_t des_byte = 0;
    int prev_tx = 1;
    std::string out;                                  // deserialised, not yet written
    uint8_t buf[4096];
    const double t_begin = now_s();
    const char* why = "stdin closed";

    for (;;) {
        // ---- I/O with the host, every 256 cycles (and whenever idle) -------------------------
        if ((cycle & 255) == 0) {
            if (rxq.size() < 4096) {
                ssize_t n = read(master, buf, sizeof buf);
                for (ssize_t i = 0; i < n; ++i) rxq.push_back(buf[i]);
            }
            if (!out.empty()) {
                ssize_t n = write(master, out.data(), out.size());
                if (n > 0) out.erase(0, (size_t)n);
            }
            bool idle = !ser_on && rxq.empty() && !des_on && out.empty() &&
                        !(top->led & 1) && top->ftdi_rxd;
            if ((cycle & 65535) == 0 || idle) {
                struct pollfd p[2] = {{0, POLLIN, 0}, {master, POLLIN, 0}};
                int r = poll(p, 2, idle ? 200 : 0);
                if (idle) ++st.blocked;
                if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
                    ssize_t n = read(0, buf, sizeof buf);
                    if (n <= 0) break;                // the host closed our stdin: done
                }
            }
            if (max_cycles && cycle >= max_cycles) {
                why = "max cycles";
                break;
            }
        }

        // ---- host -> RX pin ------------------------------------------------------------------
        if (!ser_on && !rxq.empty()) {
            ser_on = true;
            // back to back: the next start edge is exactly 10 host bits after the last one
            // (fractional, so no drift accumulates); after an idle line it starts now
            double cand = ser_t0 + 10.0 * bit;
            ser_t0 = ((double)cycle >= cand && (double)cycle - cand < 1.0) ? cand : (double)cycle;
            bool stop = (long long)st.bytes_in != stop_error_at;    // a planted framing error
            ser_frame = (uint16_t)(((unsigned)stop << 9) | ((unsigned)rxq.front() << 1));
            rxq.pop_front();
            ++st.bytes_in;
        }
        if (ser_on) {
            int k = (int)std::floor(((double)cycle - ser_t0) / bit);
            if (k >= 10) {
                ser_on = false;
                top->ftdi_txd = 1;
                if (!rxq.empty()) continue;           // next byte starts in this same cycle
            } else {
                top->ftdi_txd = (k < 0) ? 1 : ((ser_frame >> k) & 1);
            }
        }

        tick();

        // ---- TX pin -> host ----------------------------------------------------------------
        int tx = top->ftdi_rxd;
        uint64_t c = cycle - 1;                       // the cycle whose posedge produced tx
        if (!des_on) {
            if (prev_tx && !tx) {
                des_on = true;
                des_t0 = c;
                des_k = 0;
                des_byte = 0;
                if (have_start && (st.min_tx_spacing == 0 || c - last_start < st.min_tx_spacing))
                    st.min_tx_spacing = c - last_start;
                last_start = c;
                have_start = true;
            }
        } else if ((double)(c - des_t0) >= (des_k + 0.5) * bit) {
            if (des_k == 0) {
                if (tx) {                             // not a start bit
                    des_on = false;
                    ++st.tx_glitches;
                    have_start = false;
                }
            } else if (des_k <= 8) {
                des_byte |= (uint8_t)(tx << (des_k - 1));
            } else {
                if (!tx) ++st.tx_frame_errors;
                out.push_back((char)des_byte);
                ++st.bytes_out;
                des_on = false;
                ssize_t n = write(master, out.data(), out.size());
                if (n > 0) out.erase(0, (size_t)n);
            }
            ++des_k;
        }
        prev_tx = tx;
    }

    st.cycles = cycle;
    top->final();
    write_stats(stats_path, st, clk_hz, baud, bit, now_s() - t_begin, why);
    close(slave);
    close(master);
    return 0;
}
