"""Protocol behaviour of the lora-recycle-ts kernel beyond jupyter_kernel_test: interrupts of
async work, comms both ways, the stop comm, errors and stop_on_error, display updates from later
cells, stream attribution, rejected messages, restart."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid

import pytest
import zmq
from jupyter_client.manager import KernelManager

import kernelspecs
from client import iopub_until_idle, of_type, run, send_shell, shell_reply, stdout, wait_iopub

TRAINING_LOOP = """
let steps = 0;
for (let i = 0; i < 2000; i++) {
  if (jupyter.signal.aborted) break;            // the library's long runs check this at every step
  await new Promise((r) => setTimeout(r, 10));  // one "training step"
  steps++;
}
console.log(`stopped after ${steps} steps`);
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    log = tmp_path_factory.mktemp("kernel") / "stderr.log"
    km = KernelManager(kernel_name=kernelspecs.OURS)
    err = open(log, "w")  # kept open: restart_kernel launches again with the same arguments
    km.start_kernel(stderr=err)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield km, kc, log
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    err.close()


def start_cell(kc, code: str) -> str:
    msg_id = kc.execute(code)
    wait_iopub(kc, lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_input")
    time.sleep(0.5)
    return msg_id


def test_interrupt_stops_an_async_training_loop_and_the_next_cell_runs(kernel):
    km, kc, _ = kernel
    msg_id = start_cell(kc, TRAINING_LOOP)
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id)
    out = iopub_until_idle(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    steps = int(stdout(out).split()[2])
    assert 0 < steps < 2000
    reply, out = run(kc, "1 + 1")
    assert of_type(out, "execute_result")[0]["content"]["data"]["text/plain"] == "2"


def test_second_interrupt_abandons_an_await_that_ignores_the_signal(kernel):
    km, kc, _ = kernel
    msg_id = start_cell(kc, "await new Promise((r) => setTimeout(r, 60_000));")
    km.interrupt_kernel()
    time.sleep(0.3)
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, timeout=10)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    iopub_until_idle(kc, msg_id)
    reply, _ = run(kc, "const afterAwait = 1;")
    assert reply["content"]["status"] == "ok"


AWAIT_LOOP_IGNORING_THE_SIGNAL = """
let ticks = 0;
while (true) {                                   // never looks at jupyter.signal
  await new Promise((r) => setTimeout(r, 10));
  ticks++;
}
"""


def test_interrupt_stops_an_async_loop_that_ignores_the_signal_at_its_next_await(kernel):
    km, kc, _ = kernel
    msg_id = start_cell(kc, AWAIT_LOOP_IGNORING_THE_SIGNAL)
    interrupted = time.monotonic()
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, timeout=30)
    iopub_until_idle(kc, msg_id)
    seconds = time.monotonic() - interrupted
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    # The loop's next await begins within 10 ms of the interrupt; 3 s leaves room for a loaded
    # machine and is far below the grace period (10 s) after which the kernel gave up on the cell.
    assert seconds < 3, f"interrupt took {seconds:.1f} s"
    # state kept, and the loop really stopped (not left running in the background)
    _, out = run(kc, "ticks")
    ticks = int(of_type(out, "execute_result")[0]["content"]["data"]["text/plain"])
    assert ticks > 0
    time.sleep(0.3)
    _, out = run(kc, "ticks")
    assert int(of_type(out, "execute_result")[0]["content"]["data"]["text/plain"]) == ticks


RUN_WITH_A_CELL_CALLBACK = """
// stands for a library run that checks the signal at each step and awaits a callback of the cell
async function train(validate: () => Promise<number>): Promise<string> {
  for (let step = 0; step < 2000; step++) {
    if (jupyter.signal.aborted) return `ended cleanly at step ${step}`;
    await new Promise((r) => setTimeout(r, 10));
    await validate();
    if (step === 5) console.log("running");
  }
  return "ran to the end";
}
const outcome = await train(async () => { await new Promise((r) => setTimeout(r, 1)); return 1; });
console.log(outcome);
"""


def test_interrupt_lets_the_run_in_progress_and_its_callbacks_end_cleanly(kernel):
    km, kc, _ = kernel
    msg_id = kc.execute(RUN_WITH_A_CELL_CALLBACK)
    wait_iopub(kc, lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream" and "running" in m["content"]["text"])
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, timeout=30)
    out = iopub_until_idle(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    assert stdout(out).startswith("ended cleanly at step ")


def test_interrupt_stops_synchronous_code(kernel):
    km, kc, _ = kernel
    msg_id = start_cell(kc, "while (true) {}")
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, timeout=10)
    assert reply["content"]["ename"] == "Interrupted"
    iopub_until_idle(kc, msg_id)
    _, out = run(kc, '"alive"')
    assert of_type(out, "execute_result")[0]["content"]["data"]["text/plain"] == "'alive'"


def test_stop_message_on_the_control_comm_aborts_the_running_cell(kernel):
    _, kc, _ = kernel
    msg_id = start_cell(kc, TRAINING_LOOP)
    comm_id = uuid.uuid4().hex
    send_shell(kc, "comm_open", {"comm_id": comm_id, "target_name": "lora_recycle.control", "data": {}})
    send_shell(kc, "comm_msg", {"comm_id": comm_id, "data": {"type": "stop"}})
    ack = wait_iopub(kc, lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id)
    assert ack["content"]["data"] == {"type": "stopped", "running": True}
    reply = shell_reply(kc, msg_id, timeout=10)
    assert reply["content"]["status"] == "ok"
    assert "stopped after" in stdout(iopub_until_idle(kc, msg_id))


def test_comm_round_trip_from_the_front_end(kernel):
    _, kc, _ = kernel
    reply, _ = run(kc, """
jupyter.comm.registerTarget("echo", (comm, data) => {
  comm.send({ opened: data });
  comm.onMsg((d) => comm.send({ echo: d }));
});""")
    assert reply["content"]["status"] == "ok"
    comm_id = uuid.uuid4().hex
    is_comm = lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id  # noqa: E731
    send_shell(kc, "comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {"x": 1}})
    assert wait_iopub(kc, is_comm)["content"]["data"] == {"opened": {"x": 1}}
    send_shell(kc, "comm_msg", {"comm_id": comm_id, "data": {"n": [1, 2]}})
    assert wait_iopub(kc, is_comm)["content"]["data"] == {"echo": {"n": [1, 2]}}
    info = shell_reply(kc, kc.comm_info(target_name="echo"))
    assert info["content"]["comms"] == {comm_id: {"target_name": "echo"}}
    send_shell(kc, "comm_close", {"comm_id": comm_id, "data": {}})
    info = shell_reply(kc, kc.comm_info(target_name="echo"))
    assert info["content"]["comms"] == {}


def test_comm_opened_by_the_kernel_receives_front_end_messages(kernel):
    _, kc, _ = kernel
    msg_id = kc.execute('const c = jupyter.comm.open("front", { hello: 1 }); c.onMsg((d) => console.log("got", JSON.stringify(d)));')
    opened = wait_iopub(kc, lambda m: m["msg_type"] == "comm_open")
    assert opened["content"]["target_name"] == "front" and opened["content"]["data"] == {"hello": 1}
    iopub_until_idle(kc, msg_id)
    comm_msg = send_shell(kc, "comm_msg", {"comm_id": opened["content"]["comm_id"], "data": {"k": "v"}})
    got = wait_iopub(kc, lambda m: m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == comm_msg)
    assert got["content"]["text"] == 'got {"k":"v"}\n'


def test_an_error_reports_cell_lines_and_the_next_cell_runs(kernel):
    _, kc, _ = kernel
    reply, out = run(kc, 'const ok = 1;\nfunction fail(): never {\n  throw new RangeError("bad");\n}\nfail();')
    c = reply["content"]
    assert (c["status"], c["ename"], c["evalue"]) == ("error", "RangeError", "bad")
    assert any("line 3:" in line for line in c["traceback"]), c["traceback"]
    assert of_type(out, "error")[0]["content"]["ename"] == "RangeError"
    reply, out = run(kc, "ok + 41")
    assert of_type(out, "execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_stop_on_error_aborts_only_requests_queued_behind_the_failure(kernel):
    _, kc, _ = kernel
    first = kc.execute('throw new Error("first")')
    second = kc.execute('"second"')
    assert shell_reply(kc, first)["content"]["ename"] == "Error"
    assert shell_reply(kc, second)["content"]["ename"] == "ExecutionAborted"
    first = kc.execute('throw new Error("first")', stop_on_error=False)
    second = kc.execute('"second"')
    assert shell_reply(kc, first)["content"]["status"] == "error"
    assert shell_reply(kc, second)["content"]["status"] == "ok"


def test_display_update_from_a_later_cell_sends_a_full_json_bundle(kernel):
    _, kc, _ = kernel
    _, out = run(kc, 'const h = jupyter.newDisplay(); h.display({ "application/vnd.test+json": { step: 0 }, "text/plain": "0" }, { raw: true });')
    shown = of_type(out, "display_data")[0]["content"]
    display_id = shown["transient"]["display_id"]
    msg_id = kc.execute('h.update({ [Symbol.for("Jupyter.display")]: () => ({ "application/vnd.test+json": { step: 1 }, "text/plain": "1" }) });')
    out = iopub_until_idle(kc, msg_id)
    update = of_type(out, "update_display_data")[0]
    assert update["parent_header"]["msg_id"] == msg_id
    assert update["content"]["transient"]["display_id"] == display_id
    assert update["content"]["data"] == {"application/vnd.test+json": {"step": 1}, "text/plain": "1"}


def test_execute_result_uses_the_display_symbol(kernel):
    _, kc, _ = kernel
    _, out = run(kc, '({ [Symbol.for("Jupyter.display")]() { return { "application/vnd.test+json": "{\\"a\\": [1]}" }; } })')
    assert of_type(out, "execute_result")[0]["content"]["data"] == {"application/vnd.test+json": {"a": [1]}}


def test_output_of_a_timer_goes_to_the_cell_that_started_it(kernel):
    _, kc, _ = kernel
    first = kc.execute('setTimeout(() => console.log("late"), 300); "started"')
    iopub_until_idle(kc, first)
    second = kc.execute("await new Promise((r) => setTimeout(r, 800));")
    late = wait_iopub(kc, lambda m: m["msg_type"] == "stream" and m["content"]["text"] == "late\n")
    assert late["parent_header"]["msg_id"] == first
    iopub_until_idle(kc, second)


def test_an_error_thrown_later_by_a_callback_goes_to_its_cell_and_the_kernel_survives(kernel):
    _, kc, _ = kernel
    first = kc.execute('setTimeout(() => { throw new Error("from a timer"); }, 100);')
    iopub_until_idle(kc, first)
    late = wait_iopub(kc, lambda m: m["msg_type"] == "stream" and "from a timer" in m["content"]["text"])
    assert late["content"]["name"] == "stderr" and late["parent_header"]["msg_id"] == first
    reply, _ = run(kc, "const survived = true;")
    assert reply["content"]["status"] == "ok"


def test_input_asks_the_front_end_over_stdin(kernel):
    _, kc, _ = kernel
    msg_id = kc.execute('const name = await jupyter.input("name? "); `hi ${name}`', allow_stdin=True)
    request = kc.get_stdin_msg(timeout=10)
    assert request["msg_type"] == "input_request" and request["content"]["prompt"] == "name? "
    kc.input("Ada")
    reply = shell_reply(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    assert of_type(iopub_until_idle(kc, msg_id), "execute_result")[0]["content"]["data"]["text/plain"] == "'hi Ada'"
    reply, _ = run(kc, 'await jupyter.input("x")', allow_stdin=False)
    assert "allow_stdin" in reply["content"]["evalue"]


def test_streams_and_display_updates_leave_while_a_synchronous_loop_still_runs(kernel):
    _, kc, _ = kernel
    msg_id = kc.execute('const d = jupyter.newDisplay(); d.display("0"); console.log("step 1"); d.update("1");\n'
                        "const t0 = Date.now(); while (Date.now() - t0 < 2000) {}")
    is_ours = lambda m: m["parent_header"].get("msg_id") == msg_id  # noqa: E731
    wait_iopub(kc, lambda m: is_ours(m) and m["msg_type"] == "execute_input")
    started = time.monotonic()
    wait_iopub(kc, lambda m: is_ours(m) and m["msg_type"] == "update_display_data")
    assert time.monotonic() - started < 1.5, "outputs arrived only after the loop ended"
    assert shell_reply(kc, msg_id)["content"]["status"] == "ok"
    iopub_until_idle(kc, msg_id)


def test_heartbeat_answers_even_while_a_synchronous_cell_runs(kernel):
    km, kc, _ = kernel
    msg_id = start_cell(kc, "const t1 = Date.now(); while (Date.now() - t1 < 2000) {}")
    info = km.get_connection_info()
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.connect(f"{info['transport']}://{info['ip']}:{info['hb_port']}")
    sock.send(b"ping")
    answered = sock.poll(1000)
    sock.close(linger=0)
    assert answered and shell_reply(kc, msg_id)["content"]["status"] == "ok"
    iopub_until_idle(kc, msg_id)


def test_tracebacks_of_cells_with_top_level_await_name_cell_lines(kernel):
    _, kc, _ = kernel
    reply, _ = run(kc, 'await Promise.resolve();\n\nconst o: any = undefined;\nconsole.log(o.boom);')
    assert reply["content"]["ename"] == "TypeError"
    assert any("line 4:" in line for line in reply["content"]["traceback"]), reply["content"]["traceback"]


def test_wrongly_signed_and_malformed_messages_are_rejected_and_logged(kernel):
    km, kc, log = kernel
    info = km.get_connection_info()
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.connect(f"{info['transport']}://{info['ip']}:{info['shell_port']}")
    header = json.dumps({"msg_id": "x", "msg_type": "execute_request", "session": "s", "username": "u", "date": "", "version": "5.3"})
    content = json.dumps({"code": 'console.log("must not run")'})
    sock.send_multipart([b"<IDS|MSG>", b"0" * 64, header.encode(), b"{}", b"{}", content.encode()])
    sock.send_multipart([b"no delimiter"])
    time.sleep(0.5)
    sock.close(linger=0)
    reply, out = run(kc, '"still serving"')
    assert reply["content"]["status"] == "ok"
    text = log.read_text()
    assert "invalid HMAC signature" in text and "no <IDS|MSG> delimiter" in text
    assert "must not run" not in stdout(out)


def test_a_request_with_bad_content_gets_an_error_reply(kernel):
    _, kc, _ = kernel
    msg_id = send_shell(kc, "complete_request", {"code": None, "cursor_pos": 3})
    reply = shell_reply(kc, msg_id, timeout=10)
    assert reply["msg_type"] == "complete_reply" and reply["content"]["status"] == "error"
    reply, _ = run(kc, '"fine"')
    assert reply["content"]["status"] == "ok"


def test_restart_gives_a_fresh_kernel(kernel):
    km, kc, _ = kernel
    run(kc, "(globalThis as any).beforeRestart = 1;")
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=60)
    reply, out = run(kc, "typeof (globalThis as any).beforeRestart")
    assert reply["content"]["execution_count"] == 1
    assert of_type(out, "execute_result")[0]["content"]["data"]["text/plain"] == "'undefined'"


def test_install_writes_a_kernelspec_into_a_prefix(tmp_path):
    main_js = kernelspecs.ROOT / "kernel" / "dist" / "main.js"
    subprocess.run(["node", str(main_js), "install", "--prefix", str(tmp_path)], check=True, capture_output=True)
    spec = json.loads((tmp_path / "share/jupyter/kernels/lora-recycle-ts/kernel.json").read_text())
    assert spec["display_name"] == "TypeScript (LoRA Recycle)"
    assert spec["language"] == "typescript" and spec["interrupt_mode"] == "signal"


def test_notebooks_import_the_project_library_by_its_package_name(tmp_path, monkeypatch):
    """A copy of the kernel inside a stand-in project whose package `lora-recycle` has a built dist/."""
    project = tmp_path / "project"
    shutil.copytree(kernelspecs.ROOT / "kernel" / "dist", project / "kernel" / "dist")
    (project / "node_modules").symlink_to(kernelspecs.ROOT / "node_modules")
    (project / "package.json").write_text(json.dumps({"name": "lora-recycle", "version": "0.0.0", "main": "dist/index.js"}))
    (project / "dist").mkdir()
    (project / "dist" / "index.js").write_text("exports.rank = (r) => r * 2;\n")
    (project / "dist" / "index.d.ts").write_text("export declare function rank(r: number): number;\n")
    (project / "notebooks").mkdir()
    prefix = tmp_path / "prefix"
    subprocess.run(["node", str(project / "kernel/dist/main.js"), "install", "--prefix", str(prefix), "--name", "stand-in"], check=True)
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    km = KernelManager(kernel_name="stand-in")
    km.start_kernel(cwd=str(project / "notebooks"))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply, out = run(kc, 'import { rank } from "lora-recycle";\nconst doubled: number = rank(4);\ndoubled')
        assert reply["content"]["status"] == "ok", reply["content"]
        assert of_type(out, "execute_result")[0]["content"]["data"]["text/plain"] == "8"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
