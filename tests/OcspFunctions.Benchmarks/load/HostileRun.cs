using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using OcspFunctions.Protocol;

namespace OcspFunctions.Benchmarks.Load;

/// <summary>
/// <c>hostile --url URL --pid PID --requests FILE [--requests FILE…] [--count 100000] [--concurrency 32] [--seed 1]
/// [--max-seconds 900] [--max-rss-growth-mb 64]</c>: random and mutated GET paths and POST bodies against a running
/// responder (PID is its process, for VmRSS and liveness). Seeds are the valid requests of the FILEs (written by
/// <c>ocsp-requests</c>) plus variants built from them (SHA-256/384/512 and unknown-hash CertIDs, nonces of 1–200
/// octets, empty issuerKeyHash, several CertIDs, a signature). Every answer must be HTTP 200 with an OCSP response
/// that decodes (a successful one for the serial asked), 405 (other methods), 414 (request line over Kestrel's
/// 8 KB), 304 to a conditional GET, or Kestrel's own 400 for a percent-encoded NUL in the path (refused before any
/// application code; base64 never holds one); nothing else, no transport failure. Afterwards the process must be alive, <c>/health</c> must answer 200 and
/// VmRSS must not have grown by more than the bound. Exit 0 when all of that holds.
/// </summary>
public static class HostileRun
{
    private const string Base64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    // Characters a request-target may carry (RFC 3986 pchar, '/', '?'): the client sends them raw.
    private const string PathChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/";

    private sealed record Probe(string Kind, HttpMethod Method, string Path, byte[]? Body, string? ContentType, bool Chunked, SerialNumber? Expect,
        (string Name, string Value)? Header = null);

    public static async Task<int> RunAsync(string[] args)
    {
        string? url = null;
        int pid = 0, count = 100_000, concurrency = 32, seed = 1, maxSeconds = 900, maxGrowthMb = 64;
        var files = new List<string>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            string v = args[i + 1];
            switch (args[i])
            {
                case "--url": url = v.TrimEnd('/'); break;
                case "--pid": pid = int.Parse(v); break;
                case "--requests": files.Add(v); break;
                case "--count": count = int.Parse(v); break;
                case "--concurrency": concurrency = int.Parse(v); break;
                case "--seed": seed = int.Parse(v); break;
                case "--max-seconds": maxSeconds = int.Parse(v); break;
                case "--max-rss-growth-mb": maxGrowthMb = int.Parse(v); break;
                default: url = null; i = args.Length; break;
            }
        }
        if (url is null || pid <= 0 || files.Count == 0)
        {
            Console.Error.WriteLine("usage: hostile --url URL --pid PID --requests FILE [--count N] [--concurrency N] [--seed N] " +
                                    "[--max-seconds N] [--max-rss-growth-mb N]");
            return 2;
        }

        var seeds = files.SelectMany(OcspRequests.Read).Select(r => r.Der).ToList();
        var variants = Variants(seeds, new Random(seed)).ToList();
        var pool = seeds.Concat(variants).ToArray();
        var headers = pool.Select(DerHeaders).ToArray();

        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };

        // Warm-up with valid requests, then the baseline RSS.
        var random = new Random(seed);
        for (int i = 0; i < 2_000; i++)
        {
            var der = seeds[random.Next(seeds.Count)];
            using var r = await http.GetAsync(url + "/" + OcspGetPath.Encode(der));
            if (r.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"warm-up GET answered {(int)r.StatusCode}");
        }
        long rssBefore = Rss(pid);
        Console.WriteLine($"hostile: {count:N0} requests, concurrency {concurrency}, seed {seed}; {seeds.Count:N0} seed requests + " +
                          $"{variants.Count:N0} variants; target {url} pid {pid}");
        Console.WriteLine($"VmRSS before: {rssBefore / 1024.0:0.0} MB (after 2,000 warm-up requests)");

        var outcomes = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var failures = new ConcurrentQueue<string>();
        var rssSamples = new ConcurrentQueue<(long Done, long Rss)>();
        long issued = -1, done = 0, failed = 0;
        var stopwatch = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(maxSeconds);
        long sampleEvery = Math.Max(1, count / 10);

        async Task Worker(int worker)
        {
            var rng = new Random(seed * 1_000 + worker); // HashCode.Combine is randomised per process
            while (true)
            {
                long n = Interlocked.Increment(ref issued);
                if (n >= count || stopwatch.Elapsed > deadline) return;
                int index = rng.Next(pool.Length);
                var probe = Make(rng, pool[index], headers[index]);
                string outcome;
                try
                {
                    outcome = await SendAsync(http, url, probe);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    outcome = "FAIL transport: " + e.GetType().Name;
                    if (failures.Count < 20) failures.Enqueue($"{probe.Kind} {probe.Method} {Trim(probe.Path)}: {e.Message}");
                }
                if (outcome.StartsWith("FAIL", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref failed);
                    if (failures.Count < 20) failures.Enqueue($"{outcome} <- {probe.Kind} {probe.Method} {Trim(probe.Path)} " +
                                                              $"body {(probe.Body is null ? "-" : Convert.ToHexString(probe.Body.AsSpan(0, Math.Min(64, probe.Body.Length))))}");
                }
                outcomes.AddOrUpdate($"{probe.Kind,-16} {outcome}", 1, (_, c) => c + 1);
                long d = Interlocked.Increment(ref done);
                if (d % sampleEvery == 0) rssSamples.Enqueue((d, Rss(pid)));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(w => Task.Run(() => Worker(w))));
        stopwatch.Stop();

        bool alive = File.Exists($"/proc/{pid}/status");
        long rssAfter = alive ? Rss(pid) : 0;
        int healthStatus;
        string healthBody;
        try
        {
            using var health = await http.GetAsync(url + "/health");
            healthStatus = (int)health.StatusCode;
            healthBody = await health.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException e)
        {
            healthStatus = 0;
            healthBody = e.Message;
        }

        Console.WriteLine($"done: {done:N0} requests in {stopwatch.Elapsed.TotalSeconds:0.0} s ({done / stopwatch.Elapsed.TotalSeconds:N0}/s)");
        Console.WriteLine("outcomes (probe kind, HTTP status, OCSP status):");
        foreach (var (key, value) in outcomes.OrderBy(kv => kv.Key, StringComparer.Ordinal)) Console.WriteLine($"  {value,9:N0}  {key}");
        Console.WriteLine("totals by answer:");
        foreach (var g in outcomes.GroupBy(kv => kv.Key[17..]).OrderByDescending(g => g.Sum(kv => kv.Value)))
            Console.WriteLine($"  {g.Sum(kv => kv.Value),9:N0}  {g.Key}");
        Console.WriteLine("VmRSS samples: " + string.Join(", ", rssSamples.Select(s => $"{s.Done / 1000}k={s.Rss / 1024.0:0}MB")));
        Console.WriteLine($"VmRSS before {rssBefore / 1024.0:0.0} MB, after {rssAfter / 1024.0:0.0} MB, growth {(rssAfter - rssBefore) / 1024.0:+0.0;-0.0} MB " +
                          $"(bound {maxGrowthMb} MB)");
        Console.WriteLine($"process alive: {alive}; /health: {healthStatus}");
        string counters = healthBody.Contains("\"counters\"", StringComparison.Ordinal) ? healthBody[healthBody.IndexOf("\"counters\"", StringComparison.Ordinal)..] : healthBody;
        Console.WriteLine("/health counters: " + string.Join(" ", counters.Split('\n', StringSplitOptions.TrimEntries)).Trim());
        foreach (var f in failures) Console.WriteLine("  failure: " + f);

        bool ok = failed == 0 && done == count && alive && healthStatus == 200 && rssAfter - rssBefore <= maxGrowthMb * 1024L;
        Console.WriteLine(ok ? "hostile: PASS" : $"hostile: FAIL (failed {failed}, done {done}/{count}, alive {alive}, health {healthStatus})");
        return ok ? 0 : 1;
    }

    private static string Trim(string s) => s.Length <= 120 ? s : s[..120] + $"…({s.Length} chars)";

    private static async Task<string> SendAsync(HttpClient http, string url, Probe probe)
    {
        var uri = new Uri(url + probe.Path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(probe.Method, uri);
        if (probe.Header is { } header) request.Headers.TryAddWithoutValidation(header.Name, header.Value);
        if (probe.Body is not null)
        {
            HttpContent content = probe.Chunked ? new StreamContent(new MemoryStream(probe.Body)) : new ByteArrayContent(probe.Body);
            if (probe.ContentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", probe.ContentType);
            request.Content = content;
            if (probe.Chunked) request.Headers.TransferEncodingChunked = true;
        }
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        int status = (int)response.StatusCode;
        if (status is 405 or 414) return status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (status == 304 && probe.Header is not null) return body.Length == 0 ? "304 (conditional)" : "FAIL 304 with a body";
        // Kestrel refuses a percent-encoded NUL in the path itself (400, before any application code runs); base64 never has one.
        if (status == 400 && probe.Method != HttpMethod.Post && probe.Path.Contains("%00", StringComparison.Ordinal))
            return "400 by Kestrel (encoded NUL in path)";
        if (status != 200) return $"FAIL HTTP {status}";
        // Paths Kestrel normalises to "/" or "/health" ("/.", "/a/..", "/HEALTH") reach the probe page or the health report.
        string? mediaType = response.Content.Headers.ContentType?.MediaType;
        if (probe.Method != HttpMethod.Post && mediaType == "text/plain" && Encoding.ASCII.GetString(body) == "OcspFunctions OCSP responder\n")
            return "200 probe page (/)";
        if (probe.Method != HttpMethod.Post && mediaType == "application/json" && Encoding.ASCII.GetString(body).Contains("\"healthy\"", StringComparison.Ordinal))
            return "200 /health";
        if (probe.Method == HttpMethod.Head) return body.Length == 0 ? "200 HEAD" : "FAIL HEAD with a body";
        if (response.Content.Headers.ContentType?.MediaType != "application/ocsp-response") return "FAIL content type " + response.Content.Headers.ContentType;
        OcspResponse decoded;
        try
        {
            decoded = OcspResponse.Decode(body);
        }
        catch (MalformedResponseException e)
        {
            return "FAIL undecodable 200 body: " + e.Message;
        }
        if (decoded.Status == OcspResponseStatus.InternalError) return "FAIL 200 internalError";
        if (decoded.Status != OcspResponseStatus.Successful) return "200 " + decoded.Status;
        var single = decoded.Basic!.Responses;
        if (single.Count != 1) return "FAIL successful with " + single.Count + " SingleResponses";
        if (probe.Expect is { } serial && single[0].CertId.SerialNumber != serial)
            return $"FAIL answered serial {single[0].CertId.SerialNumber} for {serial}";
        return $"200 Successful ({single[0].Status})";
    }

    /// <summary>The serial the responder should answer for, when the bytes parse as a request.</summary>
    private static SerialNumber? Expected(byte[]? der)
    {
        if (der is null) return null;
        try { return OcspRequest.Decode(der.AsMemory()).FirstCertId.SerialNumber; }
        catch (MalformedRequestException) { return null; }
    }

    private static SerialNumber? ExpectedFromPath(string path)
    {
        try { return Expected(OcspGetPath.Decode(path.Split('?')[0])); }
        catch (MalformedRequestException) { return null; }
    }

    private static Probe Make(Random rng, byte[] seed, List<(int Tag, int Length)> headers)
    {
        switch (rng.Next(21))
        {
            case 0 or 1 or 2 or 3 or 4: // POST, mutated DER
            {
                var body = Mutate(seed, rng, headers);
                return new Probe("post-mutated", HttpMethod.Post, "/", body, "application/ocsp-request", false, Expected(body));
            }
            case 5: // POST, random bytes
            {
                var body = RandomBytes(rng, rng.Next(0, 400));
                if (body.Length > 0 && rng.Next(2) == 0) body[0] = 0x30;
                return new Probe("post-random", HttpMethod.Post, "/", body, "application/ocsp-request", false, Expected(body));
            }
            case 6: // POST, a valid or mutated body with a wrong or odd content type, sometimes chunked
            {
                var body = rng.Next(2) == 0 ? seed : Mutate(seed, rng, headers);
                string?[] types = [null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json",
                    "application/ocsp-request; charset=utf-8", "application/octet-stream", "}{/;;=\"\\", "application/ocsp-request, text/html"];
                return new Probe("post-ctype", HttpMethod.Post, rng.Next(4) == 0 ? "//" : "/", body, types[rng.Next(types.Length)], rng.Next(3) == 0, Expected(body));
            }
            case 7: // POST, over the 10,000-byte cap or empty, sometimes chunked (no Content-Length)
            {
                var body = rng.Next(8) == 0 ? [] : RandomBytes(rng, rng.Next(9_990, 70_000));
                if (body.Length > 4) { body[0] = 0x30; body[1] = 0x84; body[2] = 0; body[3] = 1; }
                return new Probe("post-size", HttpMethod.Post, "/", body, "application/ocsp-request", rng.Next(2) == 0, null);
            }
            case 8 or 9 or 10 or 11: // GET of a mutated request, encoded in one of the tolerated ways
            {
                var der = rng.Next(5) == 0 ? seed : Mutate(seed, rng, headers);
                string path = "/" + EncodePath(rng, der);
                return new Probe("get-mutated", rng.Next(10) == 0 ? HttpMethod.Head : HttpMethod.Get, path, null, null, false, ExpectedFromPath(path));
            }
            case 12 or 13: // GET, a valid path with its characters mutated or truncated
            {
                var chars = ("/" + EncodePath(rng, seed)).ToCharArray().ToList();
                for (int r = rng.Next(1, 4); r > 0 && chars.Count > 1; r--)
                {
                    int at = rng.Next(1, chars.Count);
                    switch (rng.Next(4))
                    {
                        case 0: chars[at] = PathChars[rng.Next(PathChars.Length)]; break;
                        case 1: chars.RemoveRange(at, chars.Count - at); break;
                        case 2: chars.Insert(at, rng.Next(3) == 0 ? '%' : PathChars[rng.Next(PathChars.Length)]); break;
                        default: chars.RemoveAt(at); break;
                    }
                }
                if (chars.Count == 0) chars.Add('/');
                string path = new(chars.ToArray());
                return new Probe("get-pathchars", HttpMethod.Get, path, null, null, false, ExpectedFromPath(path));
            }
            case 14: // GET, random path characters and escapes (valid, bad and non-ASCII percent-escapes, queries)
            {
                var sb = new StringBuilder("/");
                int len = rng.Next(0, 300);
                for (int i = 0; i < len; i++)
                {
                    switch (rng.Next(10))
                    {
                        case 0: sb.Append('%').Append(rng.Next(256).ToString("X2", System.Globalization.CultureInfo.InvariantCulture)); break;
                        case 1: sb.Append(rng.Next(3) switch { 0 => "%", 1 => "%G", _ => "%C3%A9" }); break;
                        case 2: sb.Append(Base64Chars[rng.Next(Base64Chars.Length)]); break;
                        default: sb.Append(PathChars[rng.Next(PathChars.Length)]); break;
                    }
                }
                if (rng.Next(8) == 0) sb.Append('?').Append(Convert.ToBase64String(RandomBytes(rng, rng.Next(1, 40))).Replace('+', '-').Replace('/', '_'));
                string path = sb.ToString();
                return new Probe("get-random", HttpMethod.Get, path, null, null, false, null);
            }
            case 15 or 16: // GET, huge percent-encoded paths (every character escaped, repeated slashes, padding), mostly under 8 KB
            {
                var der = rng.Next(2) == 0 ? seed : Mutate(seed, rng, headers);
                string b64 = Convert.ToBase64String(der);
                var sb = new StringBuilder();
                sb.Append('/', rng.Next(1, 200));
                int target = rng.Next(10) == 0 ? rng.Next(8_200, 9_000) : rng.Next(1_000, 8_000);
                foreach (char c in b64) sb.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
                while (sb.Length + 3 <= target - 20) sb.Append(rng.Next(3) == 0 ? "%3D" : rng.Next(2) == 0 ? "%2F" : "%41");
                string path = sb.ToString();
                return new Probe("get-huge", HttpMethod.Get, path, null, null, false, ExpectedFromPath(path));
            }
            case 17: // another method
            {
                HttpMethod[] methods = [HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Options, new HttpMethod("PROPFIND"), new HttpMethod("FOO")];
                var method = methods[rng.Next(methods.Length)];
                return new Probe("other-method", method, "/" + OcspGetPath.Encode(seed), method == HttpMethod.Put || method == HttpMethod.Patch ? seed : null,
                    "application/ocsp-request", false, null);
            }
            case 18: // GET with hostile conditional headers (304 is a right answer here, and only here)
            {
                string path = "/" + EncodePath(rng, seed);
                (string, string)[] headerChoices =
                [
                    ("If-None-Match", "*"),
                    ("If-None-Match", "W/\"" + Convert.ToHexStringLower(RandomBytes(rng, 32)) + "\""),
                    ("If-None-Match", string.Concat(Enumerable.Repeat(", ", rng.Next(1, 3000)))),
                    ("If-None-Match", string.Join(",", Enumerable.Range(0, rng.Next(1, 500)).Select(_ => "\"" + rng.Next() + "\""))),
                    ("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"),
                    ("If-Modified-Since", "Fri, 31 Dec 9999 23:59:59 GMT"),
                    ("If-Modified-Since", new string('9', rng.Next(1, 4000))),
                    ("If-Modified-Since", "-0001-13-32T25:61:61+99:99"),
                ];
                var (name, value) = headerChoices[rng.Next(headerChoices.Length)];
                return new Probe("get-conditional", HttpMethod.Get, path, null, null, false, ExpectedFromPath(path), (name, value));
            }
            default: // the seed itself, POST or GET (hits, misses, variants)
            {
                if (rng.Next(2) == 0)
                    return new Probe("valid-post", HttpMethod.Post, "/", seed, "application/ocsp-request", false, Expected(seed));
                string path = "/" + EncodePath(rng, seed);
                return new Probe("valid-get", HttpMethod.Get, path, null, null, false, ExpectedFromPath(path));
            }
        }
    }

    /// <summary>Base64 of the DER as the tolerant decoder accepts it: percent-encoded, raw, base64url, unpadded, '//' prefix.</summary>
    private static string EncodePath(Random rng, byte[] der)
    {
        string b64 = Convert.ToBase64String(der);
        return rng.Next(6) switch
        {
            0 => b64,
            1 => b64.Replace('+', '-').Replace('/', '_').TrimEnd('='),
            2 => "/" + Uri.EscapeDataString(b64),
            3 => b64.Replace("+", "%2B").Replace("/", "%2F"),
            4 => Uri.EscapeDataString(b64).Replace("%2B", "+"),
            _ => Uri.EscapeDataString(b64),
        };
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        var b = new byte[length];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>Valid requests that exercise other paths of the parser and the lookup.</summary>
    private static IEnumerable<byte[]> Variants(List<byte[]> seeds, Random rng)
    {
        for (int i = 0; i < Math.Min(seeds.Count, 400); i++)
        {
            var request = OcspRequest.Decode(seeds[rng.Next(seeds.Count)].AsMemory());
            var id = request.FirstCertId;
            int nonceLength = rng.Next(4) == 0 ? rng.Next(129, 200) : rng.Next(1, 129);
            yield return OcspRequest.Encode([id], RandomNumberGenerator.GetBytes(nonceLength));
            // The same serial under other hash algorithms: sha256 is pre-signed, sha384/512 are not (unauthorized).
            foreach (var (algorithm, length) in new[] { (CertIdHashAlgorithm.Sha256, 32), (CertIdHashAlgorithm.Sha384, 48), (CertIdHashAlgorithm.Sha512, 64) })
                yield return OcspRequest.Encode([new CertId(algorithm, RandomNumberGenerator.GetBytes(length), RandomNumberGenerator.GetBytes(length), id.SerialNumber)]);
            yield return OcspRequest.Encode([new CertId(CertIdHashAlgorithm.Unsupported, id.IssuerNameHash, id.IssuerKeyHash, id.SerialNumber, "1.2.840.113549.2.5")]);
            yield return OcspRequest.Encode([new CertId(id.HashAlgorithm, id.IssuerNameHash, [], id.SerialNumber)]);
            yield return OcspRequest.Encode([id, OcspRequest.Decode(seeds[rng.Next(seeds.Count)].AsMemory()).FirstCertId, id]);
            yield return Signed(seeds[rng.Next(seeds.Count)]);
        }
    }

    /// <summary>The request with an optionalSignature of the right shape (a pre-produced responder ignores it).</summary>
    private static byte[] Signed(byte[] request)
    {
        var reader = new System.Formats.Asn1.AsnReader(request, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        var tbs = reader.ReadEncodedValue();
        var w = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        w.PushSequence();
        w.WriteEncodedValue(tbs.Span);
        var explicit0 = new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0, isConstructed: true);
        w.PushSequence(explicit0);
        w.PushSequence();
        w.PushSequence();
        w.WriteObjectIdentifier("1.2.840.10045.4.3.2");
        w.PopSequence();
        w.WriteBitString(RandomNumberGenerator.GetBytes(70));
        w.PopSequence();
        w.PopSequence(explicit0);
        w.PopSequence();
        return w.Encode();
    }

    /// <summary>Offsets of the tag and length octets of every TLV (recursing into constructed ones).</summary>
    private static List<(int Tag, int Length)> DerHeaders(byte[] der)
    {
        var result = new List<(int, int)>();
        Walk(0, der.Length);
        return result;

        void Walk(int start, int end)
        {
            int pos = start;
            while (pos < end && pos < der.Length)
            {
                int tag = pos++;
                if (pos >= der.Length) return;
                int lengthAt = pos;
                int first = der[pos++];
                int length = first;
                if (first >= 0x80)
                {
                    length = 0;
                    for (int i = 0; i < (first & 0x7F) && pos < der.Length; i++) length = length << 8 | der[pos++];
                }
                result.Add((tag, lengthAt));
                if ((der[tag] & 0x20) != 0) Walk(pos, Math.Min(end, pos + length));
                pos += length;
            }
        }
    }

    /// <summary>One to three mutations: bit flips, random bytes, inserts, deletes, truncation, appends, real tag/length octets, slices.</summary>
    private static byte[] Mutate(byte[] input, Random rng, List<(int Tag, int Length)> headers)
    {
        var data = new List<byte>(input);
        int rounds = rng.Next(1, 4);
        for (int r = 0; r < rounds; r++)
        {
            if (data.Count == 0) data.Add((byte)rng.Next(256));
            int at = rng.Next(data.Count);
            switch (rng.Next(10))
            {
                case 0: data[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: data[at] = (byte)rng.Next(256); break;
                case 2: data.InsertRange(at, RandomBytes(rng, rng.Next(1, 4))); break;
                case 3: data.RemoveRange(at, Math.Min(rng.Next(1, 4), data.Count - at)); break;
                case 4: data.RemoveRange(at, data.Count - at); break;
                case 5: data.AddRange(RandomBytes(rng, rng.Next(1, 8))); break;
                case 6 when r == 0 && headers.Count > 0:
                {
                    int l = headers[rng.Next(headers.Count)].Length;
                    data[l] = rng.Next(6) switch
                    {
                        0 => (byte)(data[l] + 1),
                        1 => (byte)(data[l] - 1),
                        2 => 0x80,
                        3 => (byte)(0x81 + rng.Next(8)),
                        4 => 0xFF,
                        _ => (byte)rng.Next(256),
                    };
                    break;
                }
                case 7 when r == 0 && headers.Count > 0:
                {
                    int t = headers[rng.Next(headers.Count)].Tag;
                    data[t] = rng.Next(3) switch { 0 => (byte)(data[t] ^ 0x20), 1 => (byte)(data[t] ^ 0x80), _ => (byte)rng.Next(256) };
                    break;
                }
                case 8:
                {
                    int len = rng.Next(1, Math.Min(40, data.Count - at) + 1);
                    data.InsertRange(rng.Next(data.Count + 1), data.GetRange(at, len));
                    break;
                }
                default:
                {
                    int len = Math.Min(rng.Next(1, 8), data.Count - at);
                    for (int i = 0; i < len; i++) data[at + i] = 0;
                    break;
                }
            }
        }
        return [.. data];
    }

    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }
}
