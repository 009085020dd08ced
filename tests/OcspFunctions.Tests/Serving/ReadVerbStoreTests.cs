using OcspFunctions.Tests.Engine;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Serving;

/// <summary>
/// A misspelt Store:Path on a read verb (issue 10 item 5): <c>status</c>, <c>staple</c> and <c>serve</c> say the store has
/// no issuers yet and exit 2 (a configuration error) instead of creating an empty store; only <c>refresh</c> creates it.
/// </summary>
[Collection("pki")]
public sealed class ReadVerbStoreTests(TestPki pki)
{
    [Fact]
    public void Read_verbs_refuse_a_store_directory_that_does_not_exist_and_do_not_create_it()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "misspelt-store");
        string misspelt = Path.Combine(ca.Directory, "stroe");
        string config = ServeProcess.WriteConfig(ca, "misspelt", misspelt);
        string cwd = pki.NewWorkDir("misspelt-store-cwd");
        string expected = $"the store at {misspelt} has no issuers yet (has `refresh` run? is Store:Path right?)";

        var status = CliTests.Run(cwd, "status", "--config", config);
        Assert.Equal(2, status.Exit);
        Assert.Contains(expected, status.Err, StringComparison.Ordinal);

        var staple = CliTests.Run(cwd, "staple", "--config", config, "--cert", ca.Source.Good.First().CertPath, "--out", Path.Combine(cwd, "x.der"));
        Assert.Equal(2, staple.Exit);
        Assert.Contains(expected, staple.Err, StringComparison.Ordinal);

        var serve = CliTests.Run(cwd, "serve", "--config", config, "--urls", $"http://127.0.0.1:{Clients.ExternalTool.FreePort()}");
        Assert.Equal(2, serve.Exit);
        Assert.Contains(expected, serve.Err, StringComparison.Ordinal);

        Assert.False(Directory.Exists(misspelt));
        Assert.False(File.Exists(Path.Combine(cwd, "x.der")));

        // refresh creates it; then the read verbs work.
        var refresh = CliTests.Run(cwd, "refresh", "--config", config);
        Assert.True(refresh.Exit == 0, refresh.Out + refresh.Err);
        Assert.True(Directory.Exists(misspelt));
        var after = CliTests.Run(cwd, "status", "--config", config);
        Assert.True(after.Exit == 0, after.Out + after.Err);
    }

    [Fact]
    public void Staple_from_an_existing_store_that_never_saw_the_issuer_says_so()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "empty-store");
        string store = Path.Combine(ca.Directory, "empty");
        Directory.CreateDirectory(store);
        string config = ServeProcess.WriteConfig(ca, "empty", store);
        string cwd = pki.NewWorkDir("empty-store-cwd");
        var staple = CliTests.Run(cwd, "staple", "--config", config, "--cert", ca.Source.Good.First().CertPath, "--out", Path.Combine(cwd, "x.der"));
        Assert.Equal(1, staple.Exit);
        Assert.Contains("has no issuers yet", staple.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_over_an_existing_store_without_the_issuer_starts_and_says_it_has_no_responses()
    {
        var ca = new CaWorkspace(pki, pki.EcCa, "serve-empty-store");
        string store = Path.Combine(ca.Directory, "empty");
        Directory.CreateDirectory(store);
        using var serve = await ServeProcess.StartAsync(ServeProcess.WriteConfig(ca, "empty", store));
        string expected = $"has no responses: the store at {store} has no issuers yet";
        // Written before the port opens; the captured output may trail the bind by a moment.
        for (int i = 0; i < 50 && !serve.Log.Contains(expected, StringComparison.Ordinal); i++) await Task.Delay(100);
        Assert.Contains(expected, serve.Log, StringComparison.Ordinal);
    }
}
