package labsearch.opensearch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * One real OpenSearch 2.19.6 node in this JVM, for labsearch's test cluster (scripts/opensearch-cluster).
 *
 * <p>Options, each {@code --key value} or {@code --key=value}, else the system property
 * {@code labsearch.os.<key>}, else the default:
 * <pre>
 *   --name             node name                                   node-1
 *   --cluster          cluster name                                labsearch-test
 *   --http-port        HTTP port on 127.0.0.1                      9200
 *   --transport-port   transport port on 127.0.0.1                 9300
 *   --home             node home (config/ is made under it)        ./opensearch/&lt;name&gt;
 *   --data             path.data                                   &lt;home&gt;/data
 *   --logs             path.logs                                   &lt;home&gt;/logs
 *   --seeds            discovery.seed_hosts, host:port,...         (none: a single-node cluster)
 *   --managers         cluster.initial_cluster_manager_nodes       the node's own name
 *   --log-level        root log level, printed on stdout           WARN
 * </pre>
 *
 * <p>The node is built through the protected constructor {@code Node(Environment, Collection<Class<?
 * extends Plugin>>, boolean)} with the Netty4 transport/HTTP plugin and the common analysis plugin from
 * the classpath. This path runs no bootstrap checks (so it runs as root, without a security manager and
 * without vm.max_map_count), which is why it binds to 127.0.0.1 only. SIGTERM closes it cleanly.
 */
public final class ClusterNode {

    private static final List<String> PLUGINS = List.of(
        "org.opensearch.transport.Netty4Plugin",
        "org.opensearch.analysis.common.CommonAnalysisPlugin");

    private static final List<String> KEYS = List.of(
        "name", "cluster", "http-port", "transport-port", "home", "data", "logs", "seeds", "managers", "log-level");

    static final class EmbeddedNode extends Node {
        EmbeddedNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    private ClusterNode() {}

    static Map<String, String> parse(String[] args) {
        final Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + a);
            }
            String key;
            String value;
            int eq = a.indexOf('=');
            if (eq > 0) {
                key = a.substring(2, eq);
                value = a.substring(eq + 1);
            } else {
                key = a.substring(2);
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for --" + key);
                }
                value = args[++i];
            }
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("unknown option --" + key + " (known: " + KEYS + ")");
            }
            opts.put(key, value);
        }
        return opts;
    }

    static String opt(Map<String, String> opts, String key, String dflt) {
        String v = opts.get(key);
        if (v == null) {
            v = System.getProperty("labsearch.os." + key);
        }
        return (v == null || v.isBlank()) ? dflt : v.trim();
    }

    static List<String> list(String csv) {
        List<String> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        final long t0 = System.nanoTime();
        final Map<String, String> opts;
        try {
            opts = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ClusterNode: " + e.getMessage());
            System.exit(2);
            return;
        }
        final String name = opt(opts, "name", "node-1");
        final Path home = Paths.get(opt(opts, "home", Paths.get("opensearch", name).toString())).toAbsolutePath();
        final Path data = Paths.get(opt(opts, "data", home.resolve("data").toString())).toAbsolutePath();
        final Path logs = Paths.get(opt(opts, "logs", home.resolve("logs").toString())).toAbsolutePath();
        final Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.createDirectories(data);
        Files.createDirectories(logs);

        final Settings.Builder sb = Settings.builder()
            .put("cluster.name", opt(opts, "cluster", "labsearch-test"))
            .put("node.name", name)
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", opt(opts, "http-port", "9200"))
            .put("transport.port", opt(opts, "transport-port", "9300"))
            // A busy or nearly full build disk must not keep replicas unassigned (never green).
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // Without logger.level the embedded node prints nothing at all; WARN shows formation trouble.
            .put("logger.level", opt(opts, "log-level", "WARN"));
        final List<String> seeds = list(opt(opts, "seeds", ""));
        if (seeds.isEmpty()) {
            sb.put("discovery.type", "single-node");
        } else {
            sb.putList("discovery.seed_hosts", seeds);
            sb.putList("cluster.initial_cluster_manager_nodes", list(opt(opts, "managers", name)));
        }
        final Settings settings = sb.build();

        LogConfigurator.registerErrorListener();
        LogConfigurator.configureWithoutConfig(settings); // console (stdout) logging, no log4j2.properties

        final Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> name);
        final List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String cls : PLUGINS) {
            plugins.add(Class.forName(cls).asSubclass(Plugin.class));
        }

        final Node node = new EmbeddedNode(env, plugins);
        final CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            }
            closed.countDown();
        }, "labsearch-os-shutdown"));
        node.start();
        System.out.printf("labsearch-os: node %s started in %.1f s (pid %d, http %s, transport %s, seeds %s)%n",
            name, (System.nanoTime() - t0) / 1e9, ProcessHandle.current().pid(),
            settings.get("http.port"), settings.get("transport.port"), seeds);
        System.out.flush();
        closed.await();
    }
}
