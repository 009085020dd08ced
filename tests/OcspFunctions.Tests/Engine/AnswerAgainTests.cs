using Microsoft.Extensions.Logging.Abstractions;
using OcspFunctions.Engine.Serving;
using OcspFunctions.Protocol;
using OcspFunctions.Tests.Pki;

namespace OcspFunctions.Tests.Engine;

/// <summary>
/// A repeated request is answered again without a lookup only while the response is certainly current: found in the
/// issuer's index view that is still the current one, checked within the reload interval — never past a revocation the
/// server would otherwise have loaded.
/// </summary>
[Collection("pki")]
public sealed class AnswerAgainTests(TestPki pki)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public async Task A_response_is_answered_again_only_while_the_view_it_was_found_in_is_current()
    {
        var s = RefreshSetup.Create(pki, "answer-again");
        Assert.True((await s.RunAsync()).Succeeded);
        var clock = new Clock(DateTimeOffset.UtcNow);
        s.Options.Serve.IndexReloadInterval = TimeSpan.FromSeconds(30);
        var source = new StoreResponseSource([s.Issuer], s.Store, s.Options, clock, NullLogger.Instance);
        var leaf = s.Ca.Source.Good.First();
        var certId = s.Issuer.CertIdFor(SerialNumber.ParseHex(leaf.SerialHex), CertIdHashAlgorithm.Sha1);

        var good = await source.LookupAsync(certId, None);
        Assert.Equal(LookupOutcome.Found, good.Outcome);
        Assert.True(source.TryAnswerAgain(good.Response!, out var again));
        Assert.Equal(LookupOutcome.Found, again.Outcome);
        Assert.Same(good.Response, again.Response);

        // Revoked and published. Until the reload interval has passed the server answers from the view it holds, a lookup
        // as much as an answer again; after it, the old answer is refused and the lookup loads the revocation.
        s.Ca.Revoke(s.Ca.LeafPath(leaf.Name), "keyCompromise");
        s.Ca.GenerateCrl();
        Assert.True((await s.RunAsync()).Succeeded);
        Assert.Same(good.Response, (await source.LookupAsync(certId, None)).Response);
        clock.Now += TimeSpan.FromSeconds(31);
        Assert.False(source.TryAnswerAgain(good.Response!, out _));
        var revoked = await source.LookupAsync(certId, None);
        Assert.Equal(CertStatusKind.Revoked, revoked.Response!.Entry.Status);
        Assert.False(source.TryAnswerAgain(good.Response!, out _)); // found in a view that is gone
        Assert.True(source.TryAnswerAgain(revoked.Response!, out var revokedAgain));
        Assert.Same(revoked.Response, revokedAgain.Response);

        // Past its nextUpdate (within a reload interval) an answer again is refused as expired, as a lookup's is.
        clock.Now = revoked.Response!.NextUpdate.AddSeconds(-10);
        Assert.Equal(LookupOutcome.Found, (await source.LookupAsync(certId, None)).Outcome);
        clock.Now = revoked.Response.NextUpdate.AddSeconds(5);
        Assert.True(source.TryAnswerAgain(revoked.Response, out var expired));
        Assert.Equal(LookupOutcome.Expired, expired.Outcome);
        Assert.Equal(LookupOutcome.Expired, (await source.LookupAsync(certId, None)).Outcome);
    }
}
