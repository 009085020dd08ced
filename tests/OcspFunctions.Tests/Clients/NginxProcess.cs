using System.Diagnostics;

namespace OcspFunctions.Tests.Clients;

/// <summary>
/// nginx as a child process with its own prefix, temp, log and pid files (<c>nginx -p DIR -c DIR/nginx.conf -g 'daemon off; …'</c>),
/// listening on the loopback ports the caller put in <c>http { … }</c>. Stopped with <c>nginx -s stop</c> (SIGTERM) on dispose.
/// </summary>
public sealed class NginxProcess : IDisposable
{
    private readonly Process _process;
    private readonly string[] _arguments;

    private NginxProcess(string directory, Process process, string[] arguments)
    {
        Directory = directory;
        _process = process;
        _arguments = arguments;
    }

    public string Directory { get; }
    public string ErrorLog => Path.Combine(Directory, "error.log");

    public string Log => File.Exists(ErrorLog) ? File.ReadAllText(ErrorLog) : "(no error.log)";

    /// <summary>Starts nginx with <paramref name="http"/> as the body of its http block; returns once every port in <paramref name="ports"/> accepts.</summary>
    public static async Task<NginxProcess> StartAsync(string directory, string http, params int[] ports)
    {
        string nginx = ExternalTool.Nginx;
        System.IO.Directory.CreateDirectory(directory);
        string tmp = Path.Combine(directory, "tmp");
        System.IO.Directory.CreateDirectory(tmp);
        // As root the master hands connections to workers of another user (nobody by default), who could not read the test's files.
        string user = Environment.IsPrivilegedProcess ? "user root root;" : "";
        string config = $$"""
            {{user}}
            worker_processes 1;
            error_log {{directory}}/error.log info;
            events { worker_connections 64; }
            http {
                access_log {{directory}}/access.log;
                client_body_temp_path {{tmp}}/body;
                proxy_temp_path {{tmp}}/proxy;
                fastcgi_temp_path {{tmp}}/fastcgi;
                uwsgi_temp_path {{tmp}}/uwsgi;
                scgi_temp_path {{tmp}}/scgi;
            {{http}}
            }
            """;
        string conf = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(conf, config);

        string[] arguments = ["-p", directory + "/", "-e", Path.Combine(directory, "error.log"), "-c", conf, "-g", $"daemon off; pid {directory}/nginx.pid;"];
        var psi = ExternalTool.StartInfo(nginx, directory, arguments);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start nginx");
        process.StandardInput.Close();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var running = new NginxProcess(directory, process, arguments);
        foreach (int port in ports)
        {
            if (!await ExternalTool.WaitForPortAsync(port, TimeSpan.FromSeconds(10), () => process.HasExited))
            {
                string log = running.Log;
                running.Dispose();
                throw new InvalidOperationException($"nginx did not listen on {port} (exited: {process.HasExited}):\n{log}");
            }
        }
        return running;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                ExternalTool.Run(ExternalTool.Nginx, Directory, [.. _arguments, "-s", "stop"], TimeSpan.FromSeconds(10)); // SIGTERM to the master
                if (!_process.WaitForExit(5_000)) _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
